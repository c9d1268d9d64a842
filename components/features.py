"""The run page's feature-usage card: the feature sets a run used and a bar chart of feature importance."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import ids

TOP_FEATURES = 25


def importance_figure(importance: dict[str, float]) -> go.Figure:
    """Horizontal bars, largest |importance| on top (the service already orders them); at most TOP_FEATURES."""
    items = list(importance.items())[:TOP_FEATURES][::-1]
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker={"color": ["#4f46e5" if v >= 0 else "#dc2626" for _, v in items]},
                           hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=max(160, 22 * len(items) + 60),
                      margin={"l": 10, "r": 15, "t": 10, "b": 30}, xaxis={"title": "importance", "zeroline": True},
                      yaxis={"automargin": True})
    return fig


def feature_card(usage: dict) -> dbc.Card | None:
    """None when the run logged no feature usage (the page then shows nothing)."""
    sets, importance = usage.get("feature_sets") or [], usage.get("feature_importance") or {}
    if not sets and not importance:
        return None
    body: list = [html.Div("Feature usage", className="card-title-sm")]
    if sets:
        body.append(html.Div([html.Span("Feature sets ", className="small text-secondary me-1"),
                              *[dbc.Badge(s, color="light", text_color="dark", className="border me-1")
                                for s in sets]], className="mb-2", id=ids.RUN_FEATURE_SETS))
    if importance:
        more = len(importance) - TOP_FEATURES
        body.append(dcc.Graph(figure=importance_figure(importance), id=ids.RUN_FEATURE_CHART,
                              config={"displaylogo": False, "responsive": True}))
        if more > 0:
            body.append(html.Div(f"and {more} more features with smaller importance (in feature_usage.json)",
                                 className="small text-secondary"))
    # the fingerprint lets the live refresh skip re-reading an unchanged record
    return dbc.Card(dbc.CardBody(html.Div(body, **{"data-fingerprint": usage.get("fingerprint") or ""})),
                    className="mt-3")
