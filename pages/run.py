"""/runs/<run_id>: parameters, metric charts (view in ?metrics=&x=&logy=&smooth=&cols=), notes, parent, children."""
from __future__ import annotations

import dash
from dash import dcc, html

from components import ids

dash.register_page(__name__, path_template="/runs/<run_id>", title="Run · Experiment Tracking 2.0")


def layout(run_id: str | None = None, **query: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.RUN_ID, data=run_id), dcc.Store(id=ids.RUN_QUERY, data=dict(query)),
                     dcc.Location(id=ids.RUN_URL, refresh=False),
                     dcc.Loading(html.Div(id=ids.RUN_CONTENT), delay_show=300)])
