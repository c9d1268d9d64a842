"""/visualizations/<comparison_id>: a stored experiment comparison (significance tables, run values per metric)."""
from __future__ import annotations

import dash
from dash import dcc, html

from components import ids

dash.register_page(__name__, path_template="/visualizations/<comparison_id>",
                   title="Comparison · Experiment Tracking 2.0")


def layout(comparison_id: str | None = None, **_query: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.VIZ_ID, data=comparison_id),
                     dcc.Loading(html.Div(id=ids.VIZ_CONTENT), delay_show=300)])
