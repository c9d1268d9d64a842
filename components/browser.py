"""The project browser's skeleton (filters, table slot, create dialog); callbacks fill it."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import forms, ids
from components.common import page_header


def project_browser(query: dict) -> html.Div:
    team, tag = query.get("team") or None, query.get("tag") or None
    filters = html.Div([
        dcc.Dropdown(id=ids.PROJECTS_TEAM, placeholder="All teams", value=team,
                     options=[team] if team else [], className="filter-dropdown"),
        dcc.Dropdown(id=ids.PROJECTS_TAG, placeholder="All tags", value=tag,
                     options=[tag] if tag else [], className="filter-dropdown"),
        html.Span(id=ids.PROJECTS_COUNT, className="text-secondary small ms-2"),
    ], className="d-flex align-items-center gap-2 mb-3")
    new_button = dbc.Button("New project", id=ids.PROJECTS_NEW, color="primary", size="sm",
                            style={"display": "none"})
    return html.Div([
        dcc.Location(id=ids.PROJECTS_URL, refresh=False),
        page_header("Projects", "Your teams' projects and the ones shared with them.", [new_button]),
        filters,
        dcc.Loading(html.Div(id=ids.PROJECTS_CONTENT), type="default", delay_show=300),
        forms.new_project_modal(),
    ])
