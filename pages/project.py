"""/projects/<project_id>: one project's experiments; a project the user cannot see is simply not found."""
from __future__ import annotations

import dash
from dash import dcc, html

from components import ids

dash.register_page(__name__, path_template="/projects/<project_id>", title="Project · Experiment Tracking 2.0")


def layout(project_id: str | None = None, **_query: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.PROJECT_ID, data=project_id),
                     dcc.Loading(html.Div(id=ids.PROJECT_CONTENT), delay_show=300)])
