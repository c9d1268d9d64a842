"""Teams page: teams, members and usage & cost; team admins manage members and rates; site admins create teams."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks import cost
from callbacks.common import actor, core
from components import ids
from components.common import error_alert
from services import accounts
from services.errors import ServiceError

ROLE_OPTIONS = ["viewer", "editor", "admin"]
HIDDEN = {"display": "none"}
SHOWN = {"maxWidth": "480px"}


def list_teams(_refresh: int | None) -> tuple:
    who = actor()
    teams = accounts.list_teams(core(), who)
    create_style = SHOWN if who.is_admin else HIDDEN
    if not teams:
        return html.P("You are not in any team yet. Ask a team admin to add you.", className="text-secondary"), \
            create_style
    cards = []
    for t in teams:
        manage = who.is_admin or who.team_roles.get(t["id"]) == "admin"
        cards.append(_team_card(t, manage, cost.team_section(who, t["name"], manage)))
    return html.Div(cards), create_style


def _team_card(team: dict, manage: bool, usage: html.Div | None = None) -> dbc.Card:
    rows = [html.Tr([html.Td(m["username"]), html.Td(m["role"]),
                     html.Td(dbc.Button("Remove", id={"type": ids.TEAM_MEMBER_REMOVE, "team": team["name"],
                                                      "user": m["username"]}, color="link", size="sm",
                                        className="p-0 text-danger") if manage else None)])
            for m in team["members"]]
    body = [html.H2(team["name"], className="h6 mb-1"),
            html.P(team["description"], className="text-secondary small") if team["description"] else None,
            html.Table(html.Tbody(rows), className="table table-sm mb-2 team-members")]
    if manage:
        body.append(html.Div([
            dbc.Input(id={"type": ids.TEAM_MEMBER_NAME, "team": team["name"]}, placeholder="username", size="sm",
                      style={"maxWidth": "200px"}),
            dcc.Dropdown(id={"type": ids.TEAM_MEMBER_ROLE, "team": team["name"]}, options=ROLE_OPTIONS,
                         value="editor", clearable=False, style={"width": "130px"}),
            dbc.Button("Add or change", id={"type": ids.TEAM_MEMBER_SAVE, "team": team["name"]}, size="sm",
                       color="primary")], className="d-flex gap-2 align-items-center"))
    if usage is not None:
        body.append(usage)
    return dbc.Card(dbc.CardBody(body), className="mb-3", id=f"team-{team['name']}")


def save_member(clicks: list, _names: list, _roles: list, refresh: int | None) -> tuple:
    """Dash entry point: the Save button of one team card was pressed; read that card's inputs."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or []):
        raise PreventUpdate
    names = {s["id"]["team"]: s.get("value") for s in ctx.states_list[0]}
    roles = {s["id"]["team"]: s.get("value") for s in ctx.states_list[1]}
    team = trigger["team"]
    return change_member(team, (names.get(team) or "").strip(), roles.get(team) or "viewer", refresh)


def remove_member(clicks: list, refresh: int | None) -> tuple:
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or []):
        raise PreventUpdate
    return change_member(trigger["team"], trigger["user"], None, refresh)


def change_member(team: str, username: str, role: str | None, refresh: int | None) -> tuple:
    """Add, change (role) or remove (role None) a member; the service enforces who may."""
    if not username:
        return error_alert("Type the username to add."), no_update
    try:
        accounts.set_membership(core(), actor(), team, username, role)
    except ServiceError as exc:
        return error_alert(exc.message), no_update
    done = f"{username} is now {role} in {team}." if role else f"{username} was removed from {team}."
    return dbc.Alert(done, color="success", className="py-2", duration=4000), (refresh or 0) + 1


def create_team(clicks: int | None, name: str | None, refresh: int | None) -> tuple:
    if not clicks:
        raise PreventUpdate
    who = actor()
    if not who.is_admin:
        return error_alert("Only an administrator can create teams."), no_update
    try:
        accounts.create_team(core(), who, (name or "").strip())
    except ServiceError as exc:
        return error_alert(exc.message), no_update
    return None, (refresh or 0) + 1


def register(app: Dash) -> None:
    app.callback(Output(ids.TEAMS_LIST, "children"), Output(ids.TEAM_CREATE_ROW, "style"),
                 Input(ids.TEAMS_REFRESH, "data"))(list_teams)
    app.callback(Output(ids.TEAM_MESSAGE, "children"), Output(ids.TEAMS_REFRESH, "data"),
                 Input({"type": ids.TEAM_MEMBER_SAVE, "team": ALL}, "n_clicks"),
                 State({"type": ids.TEAM_MEMBER_NAME, "team": ALL}, "value"),
                 State({"type": ids.TEAM_MEMBER_ROLE, "team": ALL}, "value"), State(ids.TEAMS_REFRESH, "data"),
                 prevent_initial_call=True)(save_member)
    app.callback(Output(ids.TEAM_MESSAGE, "children", allow_duplicate=True),
                 Output(ids.TEAMS_REFRESH, "data", allow_duplicate=True),
                 Input({"type": ids.TEAM_MEMBER_REMOVE, "team": ALL, "user": ALL}, "n_clicks"),
                 State(ids.TEAMS_REFRESH, "data"), prevent_initial_call=True)(remove_member)
    app.callback(Output(ids.TEAM_MESSAGE, "children", allow_duplicate=True),
                 Output(ids.TEAMS_REFRESH, "data", allow_duplicate=True), Input(ids.TEAM_CREATE, "n_clicks"),
                 State(ids.TEAM_NEW_NAME, "value"), State(ids.TEAMS_REFRESH, "data"),
                 prevent_initial_call=True)(create_team)
