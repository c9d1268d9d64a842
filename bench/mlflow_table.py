"""The side-by-side table of bench/mlflow_compare.py: each figure for both servers, the ratio and the target."""
from __future__ import annotations

ROWS = [  # workload, label, key, unit, better, target ratio (ours/MLflow for time, MLflow/ours for throughput)
    ("ingest", "log-batch ingest, 8 threads", "points_per_s", "points/s", "higher", 10.0),
    ("ingest", "  log-batch p50", "p50_ms", "ms", "lower", None),
    ("ingest", "  log-batch p95", "p95_ms", "ms", "lower", None),
    ("log-metric", "log-metric p50", "p50_ms", "ms", "lower", None),
    ("log-metric", "log-metric p95", "p95_ms", "ms", "lower", None),
    ("search", "runs/search first page (filter+order)", "seconds", "s", "lower", 0.1),
    ("paging", "runs/search paging all runs", "seconds", "s", "lower", 0.1),
    ("history", "get-history all points", "seconds", "s", "lower", 0.2),
]


def table(results: dict) -> str:
    lines = ["| workload | ours | MLflow | ratio | target |", "|---|---:|---:|---:|---|"]
    for workload, label, key, unit, better, target in ROWS:
        a = results.get("ours", {}).get(workload, {}).get(key)
        b = results.get("mlflow", {}).get(workload, {}).get(key)
        if a is None and b is None:
            continue
        fmt = (lambda v: f"{v:,.0f} {unit}") if unit == "points/s" else (
            (lambda v: f"{v:.1f} {unit}") if unit == "ms" else (lambda v: f"{v:.3f} {unit}"))
        ratio, verdict = "", ""
        if a is not None and b is not None and a > 0 and b > 0:
            if better == "higher":
                value = a / b
                ratio = f"{value:.1f}x MLflow's"
                if target:
                    verdict = f">= {target:g}x: {'met' if value >= target else 'MISSED'}"
            else:
                value = a / b
                ratio = f"{value:.3f}x MLflow's time"
                if target:
                    verdict = f"<= {target:g}x: {'met' if value <= target else 'MISSED'}"
        lines.append(f"| {label} | {fmt(a) if a is not None else '-'} | {fmt(b) if b is not None else '-'} | "
                     f"{ratio} | {verdict} |")
    return "\n".join(lines)
