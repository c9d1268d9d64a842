"""Pure figure builders: a metric's downsampled history as a min–max band with the last value per bucket."""
from __future__ import annotations

import plotly.graph_objects as go

LINE = "#4f46e5"
BAND = "rgba(79, 70, 229, 0.25)"


def metric_figure(series: dict, notes: list[dict] | None = None) -> go.Figure:
    """series: services.metrics.downsampled(...) → {"key", "count", "buckets": [{step_start, step_end, min, max,
    last, count}]}. Every bucket's min and max are drawn, so a spike inside a bucket never vanishes."""
    buckets = series.get("buckets") or []
    x = [b["step_end"] for b in buckets]
    fig = go.Figure()
    if any(b["count"] > 1 and b["min"] != b["max"] for b in buckets):
        fig.add_trace(go.Scatter(x=x, y=[b["min"] for b in buckets], mode="lines", line={"width": 0},
                                 hoverinfo="skip", showlegend=False, name="min"))
        fig.add_trace(go.Scatter(x=x, y=[b["max"] for b in buckets], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor=BAND, hoverinfo="skip", showlegend=False,
                                 name="min–max"))
    fig.add_trace(go.Scatter(x=x, y=[b["last"] for b in buckets], mode="lines+markers" if len(x) < 40 else "lines",
                             line={"color": LINE, "width": 2}, marker={"size": 5}, name=series.get("key", ""),
                             customdata=[[b["min"], b["max"], b["step_start"]] for b in buckets],
                             hovertemplate="step %{x}: %{y:.6g}<br>min %{customdata[0]:.6g} · max "
                                           "%{customdata[1]:.6g}<extra></extra>"))
    for note in notes or []:
        if note.get("step") is not None:
            fig.add_vline(x=note["step"], line={"color": "#f59e0b", "dash": "dot", "width": 1})
    count = series.get("count", 0)
    sampled = f" · {count} points in {len(buckets)} min–max ranges" if count > len(buckets) else ""
    fig.update_layout(title={"text": series.get("key", ""), "font": {"size": 14}, "x": 0.01},
                      template="plotly_white", height=260, margin={"l": 50, "r": 15, "t": 40, "b": 40},
                      showlegend=False, hovermode="x", uirevision=series.get("key", ""),
                      xaxis={"title": {"text": "step" + sampled, "font": {"size": 11, "color": "#6b7280"}},
                             "zeroline": False})
    return fig
