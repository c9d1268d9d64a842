"""Run page figures: smoothing, log scale, step / wall-time / relative-time x axes, hover and URL view state."""
from __future__ import annotations

from datetime import datetime

import pytest

from components.charts import (ChartView, duration_text, ema, make_view, metric_figure, parse_view,
                               view_query)

START = 1_700_000_000_000


def _series(values: list[float | None], key: str = "loss", gap_ms: int = 60_000) -> dict:
    buckets = [{"step_start": i * 10, "step_end": i * 10 + 9, "min": None if v is None else v - 1,
                "max": None if v is None else v + 1, "last": v, "count": 10, "ts_last": START + (i + 1) * gap_ms}
               for i, v in enumerate(values)]
    return {"key": key, "count": 10 * len(values), "buckets": buckets}


def _main(fig):  # noqa: ANN001, ANN202
    return fig.data[-1]


def test_ema_matches_tensorboard_debiased_average_by_hand() -> None:
    w = 0.6
    first = 0.4 * 1.0 / (1 - 0.6)                       # = 1.0
    second = (0.6 * 0.4 * 1.0 + 0.4 * 3.0) / (1 - 0.36)  # = 1.44 / 0.64 = 2.25
    third = (0.6 * 1.44 + 0.4 * 2.0) / (1 - 0.216)      # = 1.664 / 0.784
    assert ema([1.0, 3.0, 2.0], w) == pytest.approx([first, second, third])
    assert ema([1.0, None, 3.0], w) == pytest.approx([1.0, None, 2.25])  # gaps stay gaps and do not count
    assert ema([5.0, 5.0, 5.0], 0.9) == [5.0, 5.0, 5.0] and ema([1.0, 2.0], 0) == [1.0, 2.0]


def test_smoothing_draws_the_raw_line_faint_behind_and_hover_shows_both() -> None:
    fig = metric_figure(_series([1.0, 3.0, 2.0]), view=ChartView(smooth=0.6))
    raw, smooth = fig.data[-2], fig.data[-1]
    assert list(raw.y) == [1.0, 3.0, 2.0] and raw.hoverinfo == "skip" and "0.3" in raw.line.color
    assert list(smooth.y) == pytest.approx([1.0, 2.25, 1.664 / 0.784]) and smooth.line.width == 2
    assert "loss 3</b> · smoothed 2.25" in smooth.hovertext[1]
    assert "min 2 · max 4 · 10 points" in smooth.hovertext[1] and "step 19" in smooth.hovertext[1]
    plain = metric_figure(_series([1.0, 3.0]))
    assert len(plain.data) == 3 and "smoothed" not in plain.data[-1].hovertext[0]


def test_log_scale_axis_and_non_positive_values_are_said_not_hidden_silently() -> None:
    fig = metric_figure(_series([0.5, 0.1, 0.01]), view=ChartView(log_y=True))
    assert fig.layout.yaxis.type == "log" and not fig.layout.annotations
    some = metric_figure(_series([1.0, 0.0, -2.0, 4.0]), view=ChartView(log_y=True))
    assert some.layout.yaxis.type == "log" and list(_main(some).y) == [1.0, None, None, 4.0]
    assert "2 values ≤ 0 not shown on the log scale" in some.layout.annotations[0].text
    none = metric_figure(_series([-1.0, -3.0]), view=ChartView(log_y=True))
    assert none.layout.yaxis.type == "linear" and "drawn linear" in none.layout.annotations[0].text
    assert metric_figure(_series([1.0])).layout.yaxis.type == "linear"


def test_x_axis_is_step_wall_time_or_relative_time() -> None:
    series = _series([1.0, 2.0, 3.0])
    steps = metric_figure(series)
    assert list(_main(steps).x) == [9, 19, 29] and steps.layout.xaxis.title.text.startswith("step")
    wall = metric_figure(series, view=ChartView(x="wall"))
    assert list(_main(wall).x) == [datetime(2023, 11, 14, 22, 14, 20), datetime(2023, 11, 14, 22, 15, 20),
                                   datetime(2023, 11, 14, 22, 16, 20)]
    assert wall.layout.xaxis.title.text.startswith("wall time (UTC)")
    relative = metric_figure(series, view=ChartView(x="relative"), start_ms=START)
    assert list(_main(relative).x) == [1.0, 2.0, 3.0]  # 60, 120, 180 seconds shown in minutes
    assert relative.layout.xaxis.title.text.startswith("time since start (min)")
    quick = metric_figure(_series([1.0, 2.0], gap_ms=1500), view=ChartView(x="relative"), start_ms=START)
    assert list(_main(quick).x) == [1.5, 3.0] and "(s)" in quick.layout.xaxis.title.text
    assert "+2m 00s" in relative.data[-1].hovertext[1] and "2023-11-14 22:15:20 UTC" in wall.data[-1].hovertext[1]
    assert relative.layout.uirevision != steps.layout.uirevision  # switching axes resets zoom; live ticks keep it


def test_notes_land_on_their_step_or_the_bucket_holding_it() -> None:
    series = _series([1.0, 2.0, 3.0])
    assert metric_figure(series, [{"step": 12}]).layout.shapes[0].x0 == 12
    on_time = metric_figure(series, [{"step": 12}], view=ChartView(x="wall")).layout.shapes[0].x0
    assert on_time == datetime(2023, 11, 14, 22, 15, 20)


def test_view_round_trips_through_the_url_and_bad_values_fall_back() -> None:
    view = parse_view({"x": "wall", "logy": "1", "smooth": "0.6", "cols": "1"})
    assert view == ChartView("wall", True, 0.6, 1)
    assert view_query(view) == [("x", "wall"), ("logy", "1"), ("smooth", "0.6"), ("cols", "1")]
    assert view_query(ChartView()) == [] and parse_view({}) == ChartView()
    assert parse_view({"x": "bogus", "logy": "maybe", "smooth": "nan", "cols": "7"}) == ChartView()
    assert make_view("relative", True, 5, 2).smooth == 0.99 and make_view(smooth=-1).smooth == 0.0
    assert duration_text(3725) == "1h 02m 05s" and duration_text(90061) == "1d 01h 01m"


def test_a_time_axis_over_points_sharing_one_timestamp_says_so() -> None:
    same = {"key": "loss", "count": 3, "buckets": [{"step_start": s, "step_end": s, "min": 1.0, "max": 1.0,
                                                    "last": 1.0, "count": 1, "ts_last": 5_000} for s in range(3)]}
    notes = [a.text for a in metric_figure(same, view=ChartView(x="relative"), start_ms=0).layout.annotations]
    assert any("same timestamp" in n for n in notes)
    assert not metric_figure(same).layout.annotations  # by step there is nothing to say
