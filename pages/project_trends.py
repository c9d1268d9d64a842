"""/projects/<project_id>/trends: best metric per experiment over time, run outcomes, durations, usage and cost."""
from __future__ import annotations

import dash
from dash import dcc, html

from components import ids

dash.register_page(__name__, path_template="/projects/<project_id>/trends",
                   title="Project trends · Experiment Tracking 2.0",
                   order=1)  # before /…/<id>: Dash's template match would take "<id>/trends" as the id


def layout(project_id: str | None = None, **query: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.TRENDS_PROJECT_ID, data=project_id),
                     dcc.Store(id=ids.TRENDS_QUERY, data=dict(query)),
                     dcc.Location(id=ids.TRENDS_URL, refresh=False),
                     dcc.Loading(html.Div(id=ids.TRENDS_CONTENT), delay_show=300)])
