"""Long series are charted from rollups: same spikes, mins and last value as the raw points, on both backends."""
from __future__ import annotations

import math

from sqlalchemy import func, select

from db.models import MetricRollup, MetricSeries
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
    assert all(b["ts_last"] == 1000 + b["step_end"] for b in buckets)  # each bucket's last point's own timestamp

    # more points arrive (and one out of order, below the rebuilt range): the chart follows
    metrics.log_points(core, actor, run_id, [metrics.Point("loss", 99.0, n + 10, 5), metrics.Point("loss", -99.0, 7, 9)])
    again = metrics.downsampled(core, actor, run_id, "loss", 500)["buckets"]
    assert max(b["max"] for b in again) == 99.0 and min(b["min"] for b in again) == -99.0
    assert again[-1]["last"] == 99.0 and sum(b["count"] for b in again) == n + 2
    assert again[-1]["ts_last"] == 5 and again[0]["ts_last"] == 1000 + again[0]["step_end"]


def test_bucket_time_is_the_last_points_timestamp_raw_rollup_and_api(core, client) -> None:  # noqa: ANN001
    """ts_last is the timestamp of each bucket's last point, by step then timestamp, whichever path draws it."""
    actor, run_id = _run_with(core, [(s, float(s)) for s in range(metrics.RAW_DOWNSAMPLE_LIMIT + 1)])
    metrics.log_points(core, actor, run_id, [metrics.Point("short", 1.0, 0, 7_000),
                                             metrics.Point("short", 2.0, 1, 9_000),
                                             metrics.Point("short", 3.0, 1, 8_000),
                                             metrics.Point("short", 4.0, 2, 500)])
    short = metrics.downsampled(core, actor, run_id, "short", 2)["buckets"]
    assert [(b["step_end"], b["last"], b["ts_last"]) for b in short] == [(1, 2.0, 9_000), (2, 4.0, 500)]
    one = metrics.downsampled(core, actor, run_id, "short", 1)["buckets"]
    assert [(b["last"], b["ts_last"]) for b in one] == [(4.0, 500)]
    long = metrics.downsampled(core, actor, run_id, "loss", 50)["buckets"]
    assert long[-1]["ts_last"] == 1000 + metrics.RAW_DOWNSAMPLE_LIMIT and len(long) <= 50
    assert [b["ts_last"] for b in long] == [1000 + b["step_end"] for b in long]
    token = client.post("/api/v1/auth/token", json={"username": "roll", "password": "password-123"}).get_json()
    reply = client.get(f"/api/v1/runs/{run_id}/metrics/short?buckets=2",
                       headers={"Authorization": f"Bearer {token['token']}"})
    assert reply.status_code == 200 and [b["ts_last"] for b in reply.get_json()["buckets"]] == [9_000, 500]


def test_nan_values_never_become_min_max_and_read_back_as_null(core, client) -> None:
    """MLflow clients log NaN; charts and summaries must skip it for min/max and JSON must stay valid."""
    n = metrics.RAW_DOWNSAMPLE_LIMIT + 100
    values = [(s, float("nan") if s % 1000 == 0 else float(s % 7)) for s in range(n)]
    values[-1] = (n - 1, float("nan"))
    actor, run_id = _run_with(core, values)
    summary = {m["key"]: m for m in metrics.summaries(core, actor, run_id)}["loss"]
    assert (summary["min"], summary["max"], summary["last"], summary["count"]) == (0.0, 6.0, None, n)
    long_chart = metrics.downsampled(core, actor, run_id, "loss", 200)["buckets"]
    metrics.log_points(core, actor, run_id, [metrics.Point("short", float("nan"), 0, 1),
                                             metrics.Point("short", 2.5, 1, 1)])
    short_chart = metrics.downsampled(core, actor, run_id, "short", 10)["buckets"]
    for chart in (long_chart, short_chart):
        finite_max = [b["max"] for b in chart if b["max"] is not None]
        assert finite_max and all(v == v for v in finite_max)
    assert max(b["max"] for b in long_chart if b["max"] is not None) == 6.0
    assert long_chart[-1]["last"] is None
    page = metrics.history(core, actor, run_id, "loss", 5).items
    assert page[0]["value"] is None and page[1]["value"] == 1.0


def test_writes_keep_long_series_rollups_fresh_so_a_first_chart_has_little_to_build(core) -> None:  # noqa: ANN001
    """Past RAW_DOWNSAMPLE_LIMIT points a write builds the rollups once EAGER_ROLLUP_STEPS steps are stale: the
    first chart of a long series then reads prepared buckets instead of scanning every point."""
    n = metrics.RAW_DOWNSAMPLE_LIMIT + 5_000
    actor, run_id = _run_with(core, [(s, float(s % 97)) for s in range(n)])
    with core.sessions() as session:
        series = session.execute(select(MetricSeries).where(MetricSeries.key == "loss")).scalar_one()
        built = session.execute(select(func.count()).select_from(MetricRollup)
                                .where(MetricRollup.series_id == series.id)).scalar_one()
        stale_from = series.rollup_from
    assert built > 0 and (stale_from is None or n - 1 - stale_from < metrics.EAGER_ROLLUP_STEPS)
    metrics.log_points(core, actor, run_id, [metrics.Point("loss", 500.0, n, 1)])  # a small append stays lazy
    with core.sessions() as session:
        assert session.execute(select(MetricSeries.rollup_from).where(MetricSeries.key == "loss")).scalar_one() \
            is not None
    chart = metrics.downsampled(core, actor, run_id, "loss", 100)["buckets"]
    assert sum(b["count"] for b in chart) == n + 1 and max(b["max"] for b in chart) == 500.0
