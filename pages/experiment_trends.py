"""/experiments/<experiment_id>/trends: each run's metric against its start time, durations, usage and cost."""
from __future__ import annotations

import dash
from dash import dcc, html

from components import ids

dash.register_page(__name__, path_template="/experiments/<experiment_id>/trends",
                   title="Experiment trends · Experiment Tracking 2.0",
                   order=1)  # before /…/<id>: Dash's template match would take "<id>/trends" as the id


def layout(experiment_id: str | None = None, **query: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.EXP_TRENDS_ID, data=experiment_id),
                     dcc.Store(id=ids.EXP_TRENDS_QUERY, data=dict(query)),
                     dcc.Location(id=ids.EXP_TRENDS_URL, refresh=False),
                     dcc.Loading(html.Div(id=ids.EXP_TRENDS_CONTENT), delay_show=300)])
