"""Run page charts: pure figure builders (min–max band, last value, EMA smoothing, step or time x) and options."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import ids

LINE = "#4f46e5"
BAND = "rgba(79, 70, 229, 0.25)"
RAW = "rgba(79, 70, 229, 0.3)"
NOTE = "#f59e0b"
MUTED = "#6b7280"
X_AXES = {"step": "Step", "wall": "Wall time", "relative": "Relative time"}
PER_ROW = (1, 2)
MAX_SMOOTH = 0.99
EPOCH = datetime(1970, 1, 1)
UNITS = ((120, 1, "s"), (2 * 3600, 60, "min"), (72 * 3600, 3600, "h"), (math.inf, 86400, "days"))


@dataclass(frozen=True)
class ChartView:
    """How the run page draws its charts; every field lives in the URL query when it is not the default."""

    x: str = "step"
    log_y: bool = False
    smooth: float = 0.0
    per_row: int = 2


def make_view(x: Any = None, log_y: Any = None, smooth: Any = None, per_row: Any = None) -> ChartView:
    """A ChartView from control values or query strings; anything unknown falls back to the default."""
    return ChartView(x=x if x in X_AXES else "step",
                     log_y=log_y is True or str(log_y).lower() in ("1", "true", "on", "yes"),
                     smooth=_smoothing(smooth), per_row=int(per_row) if str(per_row) in ("1", "2") else 2)


def _smoothing(raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return 0.0
    return round(min(MAX_SMOOTH, max(0.0, value)), 2) if math.isfinite(value) else 0.0


def parse_view(query: dict | None) -> ChartView:
    """?x=wall&logy=1&smooth=0.6&cols=1 → ChartView."""
    query = query or {}
    return make_view(query.get("x"), query.get("logy"), query.get("smooth"), query.get("cols"))


def view_query(view: ChartView) -> list[tuple[str, str]]:
    """The non-default fields as query pairs (defaults stay out of the URL)."""
    pairs = [("x", view.x if view.x != "step" else ""), ("logy", "1" if view.log_y else ""),
             ("smooth", f"{view.smooth:g}" if view.smooth else ""), ("cols", "1" if view.per_row == 1 else "")]
    return [(k, v) for k, v in pairs if v]


def ema(values: list[float | None], weight: float) -> list[float | None]:
    """TensorBoard's debiased exponential moving average; missing values stay missing and are skipped."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if weight <= 0 or not finite or all(v == finite[0] for v in finite):
        return list(values)
    last, seen, out = 0.0, 0, []
    for value in values:
        if value is None or not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        seen += 1
        out.append(last / (1 - weight ** seen))
    return out


def duration_text(seconds: float) -> str:
    """3725 → "1h 02m 05s": relative time as a person reads it."""
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m {secs:02d}s"
    return f"{sign}{minutes}m {secs:02d}s" if minutes else f"{sign}{seconds:.3g}s"


def _wall(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)  # naive UTC: plotly draws it as given


def x_values(buckets: list[dict], view: ChartView, start_ms: int | None) -> tuple[list, str]:
    """Each bucket's x (its last step, its last point's time, or time since the run's start) and the axis title."""
    if view.x == "wall":
        return [_wall(b["ts_last"]) for b in buckets], "wall time (UTC)"
    if view.x == "relative":
        origin = start_ms if start_ms is not None else min((b["ts_last"] for b in buckets), default=0)
        seconds = [(b["ts_last"] - origin) / 1000 for b in buckets]
        span = max((abs(s) for s in seconds), default=0)
        _, size, unit = next(u for u in UNITS if span < u[0])
        return [s / size for s in seconds], f"time since start ({unit})"
    return [b["step_end"] for b in buckets], "step"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _hover(bucket: dict, smoothed: float | None, key: str, view: ChartView, start_ms: int | None) -> str:
    when = _wall(bucket["ts_last"]).strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    if start_ms is not None:
        when += f" · +{duration_text((bucket['ts_last'] - start_ms) / 1000)}"
    lines = [f"step {bucket['step_end']:,} · {when}", f"<b>{key or 'value'} {_num(bucket['last'])}</b>"]
    if view.smooth:
        lines[-1] += f" · smoothed {_num(smoothed)}"
    if bucket["count"] > 1:
        lines.append(f"steps {bucket['step_start']:,}–{bucket['step_end']:,}: min {_num(bucket['min'])} · "
                     f"max {_num(bucket['max'])} · {bucket['count']:,} points")
    return "<br>".join(lines)


def _positive(values: list[float | None]) -> list[float | None]:
    return [v if v is not None and v > 0 else None for v in values]


def _log_note(buckets: list[dict], view: ChartView) -> tuple[bool, str]:
    """(draw on a log axis?, a note for the chart) — values ≤ 0 have no place on a log scale."""
    if not view.log_y:
        return False, ""
    values = [v for b in buckets for v in (b["min"], b["max"], b["last"]) if v is not None]
    if values and not any(v > 0 for v in values):
        return False, "log scale needs positive values: drawn linear"
    hidden = sum(1 for b in buckets if b["last"] is not None and b["last"] <= 0)
    return True, (f"{hidden} value{'s' if hidden != 1 else ''} ≤ 0 not shown on the log scale" if hidden else "")


def metric_figure(series: dict, notes: list[dict] | None = None, view: ChartView | None = None,
                  start_ms: int | None = None) -> go.Figure:
    """series: services.metrics.downsampled(...) → {"key", "count", "buckets": [{step_start, step_end, min, max,
    last, count, ts_last}]}. Every bucket's min and max are drawn, so a spike inside a bucket never vanishes."""
    view = view or ChartView()
    key, buckets = series.get("key", ""), series.get("buckets") or []
    x, x_title = x_values(buckets, view, start_ms)
    log, note = _log_note(buckets, view)
    if view.x != "step" and len(buckets) > 1 and len({b.get("ts_last") for b in buckets}) == 1:
        note = "; ".join(filter(None, [note, "every point has the same timestamp: log each step's own time "
                                             "for a time axis"]))
    keep = _positive if log else list
    last = [b["last"] for b in buckets]
    smoothed = ema(last, view.smooth) if view.smooth else last
    fig = go.Figure()
    if any(b["count"] > 1 and b["min"] != b["max"] for b in buckets):
        fig.add_trace(go.Scatter(x=x, y=keep([b["min"] for b in buckets]), mode="lines", line={"width": 0},
                                 hoverinfo="skip", showlegend=False, name="min"))
        fig.add_trace(go.Scatter(x=x, y=keep([b["max"] for b in buckets]), mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor=BAND, hoverinfo="skip", showlegend=False,
                                 name="min–max"))
    if view.smooth:
        fig.add_trace(go.Scatter(x=x, y=keep(last), mode="lines", line={"color": RAW, "width": 1},
                                 hoverinfo="skip", showlegend=False, name=f"{key} (raw)"))
    fig.add_trace(go.Scatter(x=x, y=keep(smoothed), mode="lines+markers" if len(x) < 40 else "lines",
                             line={"color": LINE, "width": 2}, marker={"size": 5}, name=key,
                             hovertext=[_hover(b, s, key, view, start_ms) for b, s in zip(buckets, smoothed)],
                             hovertemplate="%{hovertext}<extra></extra>"))
    _add_notes(fig, notes or [], buckets, x, view.x == "step")
    if note:
        fig.add_annotation(text=note, xref="paper", yref="paper", x=1, y=1.02, xanchor="right", yanchor="bottom",
                           showarrow=False, font={"size": 11, "color": "#b45309"}, name="log-note")
    count = series.get("count", 0)
    sampled = f" · {count} points in {len(buckets)} min–max ranges" if count > len(buckets) else ""
    fig.update_layout(title={"text": key, "font": {"size": 14}, "x": 0.01},
                      template="plotly_white", height=300 if view.per_row == 1 else 260,
                      margin={"l": 55, "r": 15, "t": 40, "b": 40}, showlegend=False, hovermode="x",
                      uirevision=f"{key}|{view.x}|{int(log)}",
                      xaxis={"title": {"text": x_title + sampled, "font": {"size": 11, "color": MUTED}},
                             "zeroline": False},
                      yaxis={"type": "log" if log else "linear", "exponentformat": "power" if log else "B"})
    return fig


def _add_notes(fig: go.Figure, notes: list[dict], buckets: list[dict], x: list, by_step: bool) -> None:
    """A dotted line at each pinned note's step (on a time axis: at the bucket holding that step)."""
    for note in notes:
        step = note.get("step")
        if step is None:
            continue
        at = step if by_step else next((x[i] for i, b in enumerate(buckets) if b["step_end"] >= step), None)
        if at is not None:
            fig.add_shape(type="line", x0=at, x1=at, yref="paper", y0=0, y1=1,
                          line={"color": NOTE, "dash": "dot", "width": 1})


def smoothing_label(weight: float | None) -> str:
    return f"Smoothing {weight:.2f}" if weight else "Smoothing off"


def chart_options(view: ChartView) -> dbc.Row:
    """The options row above the charts: x axis, log-scale y, smoothing and charts per row."""
    label = "small text-secondary me-2 mb-0 text-nowrap"
    return dbc.Row([
        dbc.Col(html.Div([html.Label("X axis", htmlFor=ids.RUN_X_AXIS, className=label),
                          dbc.Select(id=ids.RUN_X_AXIS, value=view.x, size="sm", style={"width": "148px"},
                                     options=[{"label": v, "value": k} for k, v in X_AXES.items()])],
                         className="d-flex align-items-center"), width="auto"),
        dbc.Col(dbc.Switch(id=ids.RUN_LOG_Y, label="Log scale Y", value=view.log_y, className="mb-0 small"),
                width="auto"),
        dbc.Col(html.Div([html.Label(smoothing_label(view.smooth), id=ids.RUN_SMOOTH_LABEL, htmlFor=ids.RUN_SMOOTH,
                                     className=label, style={"minWidth": "100px"}),
                          html.Div(dcc.Slider(id=ids.RUN_SMOOTH, min=0, max=MAX_SMOOTH, step=0.01, value=view.smooth,
                                              marks={0: "0", 0.5: "0.5", 0.99: "0.99"}, updatemode="mouseup",
                                              allow_direct_input=False),
                                   className="flex-grow-1", style={"minWidth": "150px"})],
                         className="d-flex align-items-center")),
        dbc.Col(html.Div(dbc.Select(id=ids.RUN_PER_ROW, value=str(view.per_row), size="sm", style={"width": "112px"},
                                    options=[{"label": f"{n} per row", "value": str(n)} for n in PER_ROW]),
                         title="Layout: charts per row"), width="auto"),
    ], id=ids.RUN_CHART_OPTIONS, className="g-3 align-items-center mb-2 chart-options")
