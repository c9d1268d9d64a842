"""Pure builders for the run comparison page: params diff, metric deltas, gate marks, curves, scatter, importance."""
from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from dash import html
from scipy.stats import spearmanr

PALETTE = ("#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#f97316", "#64748b",
           "#ec4899")
MAX_CURVES = 20
AGGS = ("last", "min", "max")
GATES = {"failed": ("Gate failed", "bg-danger"), "passed": ("Gate passed", "bg-success"),
         "incomplete": ("Gate incomplete", "bg-secondary")}  # no_criteria: no mark
MAX_HEADER_RUNS = 40


_BLANKS: dict[type, dict] = {}


def el(cls: type, children: Any = None, **props: Any) -> Any:
    """A trusted html element (Td, Tr, Span, A) built without Dash's per-argument checks, which cost ~50 µs per
    component and dominate tables of thousands of cells; it serializes exactly as cls(children, **props)."""
    blank = _BLANKS.get(cls)
    if blank is None:
        blank = _BLANKS.setdefault(cls, dict(cls().__dict__))
    node = cls.__new__(cls)
    node.__dict__.update(blank)
    node.__dict__.update(props, children=children)
    return node


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def param_keys(runs: list[dict]) -> list[str]:
    return sorted({k for run in runs for k in run["params"]})


def metric_keys(runs: list[dict]) -> list[str]:
    return sorted({k for run in runs for k in run["metrics"]})


def numeric_params(runs: list[dict]) -> list[str]:
    """Param keys whose every present value is a number (and at least one run has it)."""
    seen: set[str] = set()
    other: set[str] = set()
    for run in runs:
        for key, value in run["params"].items():
            seen.add(key)
            if key not in other and not is_number(value):
                other.add(key)
    return sorted(seen - other)


def differing(runs: list[dict], keys: list[str]) -> list[str]:
    """Keys whose value is not the same in every run (a missing value counts as different)."""
    return [k for k in keys if len({repr(run["params"].get(k)) for run in runs}) > 1]


def run_label(run: dict) -> str:
    return run["name"] or run["id"][:8]


def baseline_options(runs: list[dict], chosen: str | None, search: str = "", limit: int = 100) -> list[dict]:
    """The baseline picker's options: the runs whose label contains `search` (any case), at most `limit` of them,
    and always the chosen run (a dropdown clears a value missing from its options). A picker over thousands of
    runs would make the browser index every label for its search box (2,000 runs: ≈ 2.5 s on this machine)."""
    needle = search.strip().lower()
    picked = [r for r in runs if needle in f"{run_label(r)} · {r['experiment_name']}".lower()][:limit]
    current = next((r for r in runs if r["id"] == chosen), None)
    if current is not None and current not in picked:
        picked.insert(0, current)
    return [{"label": f"{run_label(r)} · {r['experiment_name']}", "value": r["id"]} for r in picked]


def empty_state(message: str, element_id: str | None = None) -> html.Div:
    return html.Div(html.P(message, className="text-secondary mb-0"), className="compare-empty py-3",
                    **({"id": element_id} if element_id else {}))


def run_ref(run: dict, base_id: str | None = None) -> list:
    """A packed table's run cell: [id, label, experiment name, gate label or None, gate badge class, is baseline]."""
    label, color = GATES.get(run.get("gate"), (None, None))
    return [run["id"], run_label(run), run["experiment_name"], label,
            f"badge {color} gate-badge gate-{run['gate']} ms-1" if label else None, run["id"] == base_id]


def params_table(runs: list[dict], diff_only: bool) -> dict:
    """Runs as rows, params as columns; with diff_only, only the params whose value differs between runs.
    Packed for assets/compare.js ({"table": ...}; a message is {"tree": component}): a few bytes per cell
    instead of a Dash component each, so hundreds of rows stay a small response."""
    keys = param_keys(runs)
    shown = differing(runs, keys) if diff_only else keys
    note = f"{len(shown)} of {len(keys)} parameters differ" if diff_only else f"{len(keys)} parameters"
    if not keys:
        return {"tree": empty_state("These runs have no parameters.")}
    if not shown:
        return {"tree": empty_state(f"All {len(keys)} parameters are the same in every selected run. "
                                    "Turn off “Differences only” to see them.")}
    rows = [{"cls": row_class(run), "run": run_ref(run), "cells": [fmt(run["params"].get(k)) for k in shown]}
            for run in runs]
    return {"table": {"note": note, "head": [[{"text": "Run"}, *[{"text": k} for k in shown]]], "rows": rows}}


def _run_link(run: dict) -> html.A:
    return el(html.A, run_label(run), href=f"/runs/{run['id']}", title=run["experiment_name"])


def gate_badge(run: dict) -> html.Span | None:
    """A red "Gate failed" / green "Gate passed" / grey "Gate incomplete" pill; nothing without criteria."""
    label, color = GATES.get(run.get("gate"), (None, None))
    return el(html.Span, label, className=f"badge {color} gate-badge gate-{run['gate']} ms-1") if label else None


def row_class(run: dict, extra: str = "") -> str | None:
    classes = " ".join(c for c in (extra, "table-danger gate-failed-row" if run.get("gate") == "failed" else "") if c)
    return classes or None


def run_chips(runs: list[dict]) -> html.Div | None:
    """The header's run list: each run with its gate mark (failing runs first), the first few dozen shown."""
    if not any(run.get("gate") in GATES for run in runs):
        return None
    order = sorted(runs, key=lambda r: (r.get("gate") != "failed", r.get("gate") != "incomplete"))
    failed = sum(r.get("gate") == "failed" for r in runs)
    chips = [html.Span([_run_link(r), gate_badge(r)], className="compare-run-chip me-3 text-nowrap")
             for r in order[:MAX_HEADER_RUNS]]
    more = f" … and {len(runs) - MAX_HEADER_RUNS} more" if len(runs) > MAX_HEADER_RUNS else ""
    summary = html.Span(f"Safety gates: {failed} of {len(runs)} runs failed · ",
                        className="fw-semibold me-2" + (" text-danger" if failed else ""))
    return html.Div([summary, *chips, more], id="compare-run-gates", className="small mb-3 d-flex flex-wrap gap-1")


def delta_text(value: Any, base: Any) -> str:
    if not is_number(value) or not is_number(base):
        return ""
    diff = value - base
    return "±0" if diff == 0 else f"{diff:+.3g}"


def metrics_table(runs: list[dict], base: dict | None, keys: list[str] | None = None) -> dict:
    """last / min / max per metric; every value with its difference to the baseline run's value (packed as
    params_table: a cell is "value" or ["value", "delta"])."""
    keys = keys if keys is not None else metric_keys(runs)
    if not keys:
        return {"tree": empty_state("These runs have no metrics logged yet.")}
    head = [[{"text": "Run", "rowSpan": 2}, *[{"text": k, "colSpan": 3, "className": "text-center"} for k in keys]],
            [{"text": a, "className": "agg"} for _ in keys for a in AGGS]]
    base_id = base["id"] if base is not None else None
    rows = []
    for run in runs:
        cells: list = []
        for key in keys:
            summary = run["metrics"].get(key) or {}
            reference = (base["metrics"].get(key) or {}) if base is not None and run["id"] != base_id else None
            for agg in AGGS:
                value = summary.get(agg)
                delta = delta_text(value, reference.get(agg)) if reference is not None else ""
                cells.append([fmt(value), delta] if delta else fmt(value))
        rows.append({"cls": row_class(run, "baseline-row" if run["id"] == base_id else ""),
                     "run": run_ref(run, base_id), "cells": cells})
    return {"table": {"note": "Each value with its difference to the baseline run.", "head": head, "rows": rows,
                      "cellClass": "num"}}


# ---------------------------------------------------------------- curves, scatter, importance

TIME_UNITS = ((3600.0, "h"), (60.0, "min"), (1.0, "s"))


def time_unit(longest_s: float) -> tuple[float, str]:
    """The unit a relative-time axis reads best in: hours past 2 h, minutes past 2 min, else seconds."""
    return next(((size, name) for size, name in TIME_UNITS if longest_s >= 2 * size), (1.0, "s"))


def curves_figure(metric: str, series: list[tuple[str, dict]], note: str = "",
                  starts: list[int | None] | None = None) -> go.Figure:
    """series: [(run label, services.metrics.downsampled(...))]: each run's last value per bucket, by step; with
    starts (each run's start, epoch ms) by time since its start instead (bucket ts_last − start)."""
    offsets = [[(b.get("ts_last") or 0) - (start or 0) for b in data.get("buckets") or []]
               for (_label, data), start in zip(series, starts)] if starts is not None else None
    size, unit = time_unit(max((max(o) for o in offsets or [] if o), default=0) / 1000)
    fig = go.Figure()
    for i, (label, data) in enumerate(series):
        buckets = data.get("buckets") or []
        x = [o / 1000 / size for o in offsets[i]] if offsets is not None else [b["step_end"] for b in buckets]
        where = f"%{{x:.3g}} {unit}" if offsets is not None else "step %{x}"
        fig.add_trace(go.Scatter(x=x, y=[b["last"] for b in buckets], name=label,
                                 mode="lines+markers" if len(buckets) < 40 else "lines",
                                 line={"color": PALETTE[i % len(PALETTE)], "width": 2}, marker={"size": 4},
                                 hovertemplate=f"{label} · {where}: %{{y:.6g}}<extra></extra>"))
    axis = f"time since the run's start ({unit})" if offsets is not None else "step"
    fig.update_layout(title={"text": f"{metric} by {'time' if offsets is not None else 'step'}"
                             + (f" · {note}" if note else ""), "font": {"size": 14}, "x": 0.01},
                      template="plotly_white", height=340, hovermode="closest",
                      margin={"l": 50, "r": 15, "t": 45, "b": 40}, xaxis={"title": {"text": axis}},
                      legend={"font": {"size": 11}}, uirevision=f"{metric}|{axis}")
    return fig


def scatter_figure(runs: list[dict], param: str | None, metric: str | None) -> go.Figure:
    fig = go.Figure()
    points = [(r["params"].get(param), (r["metrics"].get(metric) or {}).get("last"), run_label(r)) for r in runs
              if param and metric and param in r["params"] and is_number((r["metrics"].get(metric) or {}).get("last"))]
    if points:
        fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], text=[p[2] for p in points],
                                 mode="markers", marker={"size": 9, "color": PALETTE[0], "opacity": 0.8},
                                 hovertemplate="%{text}<br>%{x} → %{y:.6g}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=320, margin={"l": 50, "r": 15, "t": 40, "b": 45},
                      title={"text": f"{metric or '—'} (last) vs {param or '—'} · {len(points)} runs",
                             "font": {"size": 14}, "x": 0.01},
                      xaxis={"title": {"text": param or ""}}, yaxis={"title": {"text": metric or ""}})
    return fig


def importance(runs: list[dict], metric: str | None) -> list[dict]:
    """Per numeric param: |Spearman ρ| with the metric's last value over the runs having both; strongest first.
    Params with fewer than 3 such runs or no variation get no ρ (None) rather than a made-up number."""
    out = []
    for key in numeric_params(runs):
        pairs = [(float(r["params"][key]), r["metrics"][metric]["last"]) for r in runs
                 if metric and key in r["params"] and is_number((r["metrics"].get(metric) or {}).get("last"))]
        rho = None
        if len(pairs) >= 3 and len({p[0] for p in pairs}) > 1 and len({p[1] for p in pairs}) > 1:
            value = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
            rho = float(value) if math.isfinite(value) else None
        out.append({"param": key, "abs_rho": None if rho is None else abs(rho), "rho": rho, "n": len(pairs)})
    return sorted(out, key=lambda r: (r["abs_rho"] is None, -(r["abs_rho"] or 0.0), r["param"]))


def importance_figure(rows: list[dict], metric: str | None) -> go.Figure:
    """Horizontal bars of |ρ| (signed ρ and n on each); params that could not be rated are counted below."""
    shown = [r for r in rows if r["abs_rho"] is not None][::-1]
    skipped = len(rows) - len(shown)
    fig = go.Figure()
    if shown:
        fig.add_trace(go.Bar(x=[r["abs_rho"] for r in shown], y=[r["param"] for r in shown], orientation="h",
                             marker={"color": PALETTE[1]}, text=[f"ρ={r['rho']:+.2f} · n={r['n']}" for r in shown],
                             textposition="auto", hovertemplate="%{y}: |ρ| %{x:.3f}<extra></extra>"))
    else:
        fig.add_annotation(text="Needs at least 3 runs with differing values<br>"
                                "of a numeric parameter and of the metric.", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper", font={"color": "#6b7280"})
    left_out = f" · {skipped} param(s) left out (< 3 varying runs)" if skipped and shown else ""
    fig.update_layout(template="plotly_white", height=max(240, 80 + 32 * len(shown)),
                      margin={"l": 110 if shown else 20, "r": 15, "t": 40, "b": 45},
                      title={"text": f"|Spearman ρ| with {metric or '—'} (last)", "font": {"size": 14}, "x": 0.01},
                      xaxis={"range": [0, 1], "title": {"text": "|ρ|" + left_out, "font": {"size": 11}},
                             "visible": bool(shown)}, yaxis={"visible": bool(shown)})
    return fig
