"""Run groups (pure): group runs by a param or tag, mean ± std (n) per group, mean curves with a 95% t CI band."""
from __future__ import annotations

import math
from typing import Any, Iterable, NamedTuple, Sequence

from scipy.stats import t as student_t

KINDS = ("param", "tag")
CONFIDENCE = 0.95
NOT_SET = "(not set)"


class GroupKey(NamedTuple):
    kind: str  # "param" | "tag"
    name: str

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.name}"


class Stat(NamedTuple):
    mean: float | None
    std: float | None  # sample std (n − 1); None when n < 2
    n: int


class BandPoint(NamedTuple):
    step: float
    mean: float
    low: float | None  # None when fewer than two runs have this step
    high: float | None
    n: int


def parse_key(raw: Any) -> GroupKey | None:
    """"param:lr" / "tag:team" → GroupKey; anything else → None (no grouping)."""
    if not isinstance(raw, str) or ":" not in raw:
        return None
    kind, name = raw.split(":", 1)
    return GroupKey(kind, name) if kind in KINDS and name else None


def key_options(runs: Sequence[dict]) -> list[GroupKey]:
    """Every param, then every tag, present in at least one run (sorted by name)."""
    params = sorted({k for r in runs for k in r.get("params") or {}})
    tags = sorted({k for r in runs for k in r.get("tags") or {}})
    return [GroupKey("param", k) for k in params] + [GroupKey("tag", k) for k in tags]


def value_label(value: Any) -> str:
    if value is None:
        return NOT_SET
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def partition(runs: Sequence[dict], key: GroupKey) -> dict[str, list[dict]]:
    """{group label: runs} in order of first appearance; runs without the param/tag form the "(not set)" group."""
    field = "params" if key.kind == "param" else "tags"
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(value_label((run.get(field) or {}).get(key.name)), []).append(run)
    return groups


def _finite(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def describe(values: Iterable[Any]) -> Stat:
    """Mean, sample standard deviation (ddof 1) and n of the finite numbers among values."""
    xs = _finite(values)
    n = len(xs)
    if not n:
        return Stat(None, None, 0)
    mean = math.fsum(xs) / n
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else None
    return Stat(mean, std, n)


def t_interval(stat: Stat, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """mean ± t(1 − α/2, n − 1) · s / √n; None when n < 2."""
    if stat.n < 2 or stat.mean is None or stat.std is None:
        return None
    half = float(student_t.ppf(0.5 + confidence / 2, stat.n - 1)) * stat.std / math.sqrt(stat.n)
    return stat.mean - half, stat.mean + half


def metric_stats(runs: Sequence[dict], metric: str, agg: str) -> Stat:
    """The group's stat of each run's summary value (last / min / max) of a metric."""
    return describe((r["metrics"].get(metric) or {}).get(agg) for r in runs)


def summarize(groups: dict[str, list[dict]], metrics: Sequence[str], aggs: Sequence[str]) -> list[dict]:
    """Per group: {"value", "runs" (count), "failed" (gate-failed runs), "stats" {(metric, agg): Stat}}."""
    return [{"value": value, "runs": len(members), "failed": sum(r.get("gate") == "failed" for r in members),
             "stats": {(m, a): metric_stats(members, m, a) for m in metrics for a in aggs}}
            for value, members in groups.items()]


def mean_band(series: Sequence[Sequence[tuple[float, Any]]], confidence: float = CONFIDENCE) -> list[BandPoint]:
    """Align runs' (step, value) series by step; at each step the mean of the runs having it and the t CI."""
    by_step: dict[float, list[Any]] = {}
    for points in series:
        for step, value in points:
            by_step.setdefault(step, []).append(value)
    band = []
    for step in sorted(by_step):
        stat = describe(by_step[step])
        if stat.mean is None:
            continue
        ci = t_interval(stat, confidence)
        band.append(BandPoint(step, stat.mean, ci[0] if ci else None, ci[1] if ci else None, stat.n))
    return band


def bucket_points(downsampled: dict) -> list[tuple[float, Any]]:
    """services.metrics.downsampled(...) → [(step, last value)] (each bucket at its last step)."""
    return [(b["step_end"], b["last"]) for b in downsampled.get("buckets") or []]
