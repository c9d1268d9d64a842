"""/compare?runs=…&baseline=…&metrics=…&group=…&brush=…: any number of runs side by side (state in the URL)."""
from __future__ import annotations

import dash
from dash import dcc, html

from components import ids

dash.register_page(__name__, path="/compare", title="Compare runs · Experiment Tracking 2.0")


def layout(**query: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.COMPARE_QUERY, data=dict(query)),
                     dcc.Location(id=ids.COMPARE_URL, refresh=False),
                     dcc.Loading(html.Div(id=ids.COMPARE_CONTENT), delay_show=300)])
