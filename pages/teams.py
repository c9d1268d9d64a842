"""/teams: the user's teams, members and usage & cost; team admins manage members and cost rates."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.common import page_header

dash.register_page(__name__, path="/teams", title="Teams · Experiment Tracking 2.0")


def layout(**_query: str) -> html.Div:
    create = dbc.InputGroup([dbc.Input(id=ids.TEAM_NEW_NAME, placeholder="New team name", maxLength=100),
                             dbc.Button("Create team", id=ids.TEAM_CREATE, color="primary")],
                            id=ids.TEAM_CREATE_ROW, className="mb-3", style={"maxWidth": "480px", "display": "none"})
    return html.Div([page_header("Teams", "Roles: viewers read, editors log and change runs, admins manage members "
                                                  "and the team's cost rates."),
                     create, html.Div(id=ids.TEAM_MESSAGE), dcc.Store(id=ids.TEAMS_REFRESH, data=0),
                     html.Div(id=ids.TEAMS_LIST)])
