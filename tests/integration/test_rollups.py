"""Long series are charted from rollups: same spikes, mins and last value as the raw points, on both backends."""
from __future__ import annotations

import math

from services import accounts, experiments, metrics, projects, runs


def _run_with(core, values: list[tuple[int, float]]) -> tuple:  # noqa: ANN001
    accounts.create_user(core, None, "roll", "password-123", is_admin=True)
    actor = accounts.authenticate(core, "roll", "password-123")
    project = projects.create_project(core, actor, "p", team="t")
    exp = experiments.create_experiment(core, actor, project["id"], "e")
    run = runs.create_run(core, actor, exp["id"])
    chunk = 10_000
    for i in range(0, len(values), chunk):
        metrics.log_points(core, actor, run["id"], [metrics.Point("loss", v, s, 1000 + s)
                                                    for s, v in values[i:i + chunk]])
    return actor, run["id"]


def test_long_series_keeps_spikes_and_extends_incrementally(core) -> None:
    n = metrics.RAW_DOWNSAMPLE_LIMIT + 15_000
    values = [(s, math.sin(s / 500.0)) for s in range(n)]
    values[12_345] = (12_345, 42.0)   # a spike
    values[30_001] = (30_001, -42.0)  # a dip
    actor, run_id = _run_with(core, values)
    chart = metrics.downsampled(core, actor, run_id, "loss", 500)
    buckets = chart["buckets"]
    assert 100 <= len(buckets) <= 500
    assert max(b["max"] for b in buckets) == 42.0 and min(b["min"] for b in buckets) == -42.0
    assert sum(b["count"] for b in buckets) == n == chart["count"]
    assert buckets[-1]["last"] == values[-1][1] and buckets[-1]["step_end"] == n - 1
    spike = next(b for b in buckets if b["max"] == 42.0)
    assert spike["step_start"] <= 12_345 <= spike["step_end"]

    # more points arrive (and one out of order, below the rebuilt range): the chart follows
    metrics.log_points(core, actor, run_id, [metrics.Point("loss", 99.0, n + 10, 5), metrics.Point("loss", -99.0, 7, 9)])
    again = metrics.downsampled(core, actor, run_id, "loss", 500)["buckets"]
    assert max(b["max"] for b in again) == 99.0 and min(b["min"] for b in again) == -99.0
    assert again[-1]["last"] == 99.0 and sum(b["count"] for b in again) == n + 2
