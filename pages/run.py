"""/runs/<run_id>: parameters, metric charts (view in ?metrics=&x=&logy=&smooth=&cols=), notes, parent, children.

The content is built in the page's own request; the charts follow from their callback."""
from __future__ import annotations

import dash
from dash import dcc, html

from callbacks.common import initial_content
from callbacks.run import load_run
from components import ids

dash.register_page(__name__, path_template="/runs/<run_id>", title="Run · Experiment Tracking 2.0")


def layout(run_id: str | None = None, **query: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.RUN_ID, data=run_id),
                     dcc.Location(id=ids.RUN_URL, refresh=False),
                     dcc.Loading(html.Div(initial_content(load_run, run_id, dict(query)), id=ids.RUN_CONTENT),
                                 delay_show=300)])
