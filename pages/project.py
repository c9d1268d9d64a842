"""/projects/<project_id>: one project's experiments; a project the user cannot see is simply not found."""
from __future__ import annotations

import dash
from dash import dcc, html

from components import ids

dash.register_page(__name__, path_template="/projects/<project_id>", title="Project · Experiment Tracking 2.0")


def layout(project_id: str | None = None, **query: str) -> html.Div:
    """The chosen metric and mode come from ?metric=&mode= so a copied link opens the same view."""
    return html.Div([dcc.Store(id=ids.PROJECT_ID, data=project_id),
                     dcc.Store(id=ids.PROJECT_QUERY, data=dict(query)),
                     dcc.Location(id=ids.PROJECT_URL, refresh=False),
                     dcc.Loading(html.Div(id=ids.PROJECT_CONTENT), delay_show=300)])
