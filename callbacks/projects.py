"""Project browser: filter choices, the filtered table or the first-run guide, creating a project."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, base_url, core
from components import ids
from components.common import error_alert, first_run_snippets
from components.forms import split_tags
from components.grids import projects_grid
from components.url_state import browser_search
from services import browse, projects
from services.errors import ServiceError

HIDDEN, SHOWN = {"display": "none"}, {}


def filter_choices(_pathname: str | None) -> tuple:
    """Team and tag choices, and — for editors — the New project button with the teams it can write to."""
    who = actor()
    choices = browse.filter_choices(core(), who)
    writable = browse.writable_teams(core(), who)
    default_team = writable[0] if len(writable) == 1 else None
    return (choices["teams"], choices["tags"], SHOWN if writable else HIDDEN, writable, default_team)


def list_projects(team: str | None, tag: str | None) -> tuple:
    """The table for the chosen filters (or a guide to the first run), a count, and the filters in the URL."""
    who = actor()
    page = projects.list_projects(core(), who, team=team or None, tag=tag or None, limit=1000)
    search = browser_search(team, tag)
    if page.items:
        count = f"{page.total} project{'s' if page.total != 1 else ''}"
        return projects_grid(page.items), count, search
    if team or tag:
        return html.P("No project matches these filters.", className="text-secondary"), "", search
    return empty_state(who.username, next(iter(browse.writable_teams(core(), who)), None)), "", search


def empty_state(username: str, team: str | None) -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H2("No projects yet", className="h5"),
        html.P("Create one with the New project button, or let your training code create it while it logs "
               "its first run:", className="text-secondary"),
        first_run_snippets(base_url(), username, team)]), className="empty-state", id="projects-empty-state")


def toggle_new_project(_open: int | None, _cancel: int | None) -> bool:
    return ctx.triggered_id == ids.PROJECTS_NEW


def create_project(_clicks: int | None, name: str | None, team: str | None, description: str | None,
                   tags: str | None) -> tuple:
    if not _clicks:
        raise PreventUpdate
    if not (name or "").strip():
        return error_alert("Give the project a name."), no_update, no_update
    try:
        created = projects.create_project(core(), actor(), (name or "").strip(), description or "", team,
                                          split_tags(tags))
    except ServiceError as exc:
        return error_alert(exc.message), no_update, no_update
    return None, False, f"/projects/{created['id']}"


def register(app: Dash) -> None:
    app.callback(Output(ids.PROJECTS_TEAM, "options"), Output(ids.PROJECTS_TAG, "options"),
                 Output(ids.PROJECTS_NEW, "style"), Output(ids.NEW_PROJECT_TEAM, "options"),
                 Output(ids.NEW_PROJECT_TEAM, "value"), Input(ids.PROJECTS_URL, "pathname"))(filter_choices)
    app.callback(Output(ids.PROJECTS_CONTENT, "children"), Output(ids.PROJECTS_COUNT, "children"),
                 Output(ids.PROJECTS_URL, "search"),
                 Input(ids.PROJECTS_TEAM, "value"), Input(ids.PROJECTS_TAG, "value"))(list_projects)
    app.callback(Output(ids.NEW_PROJECT_MODAL, "is_open"), Input(ids.PROJECTS_NEW, "n_clicks"),
                 Input(ids.NEW_PROJECT_CANCEL, "n_clicks"), prevent_initial_call=True)(toggle_new_project)
    app.callback(Output(ids.NEW_PROJECT_ERROR, "children"),
                 Output(ids.NEW_PROJECT_MODAL, "is_open", allow_duplicate=True),
                 Output(ids.NAV_LOCATION, "href", allow_duplicate=True),
                 Input(ids.NEW_PROJECT_SUBMIT, "n_clicks"), State(ids.NEW_PROJECT_NAME, "value"),
                 State(ids.NEW_PROJECT_TEAM, "value"), State(ids.NEW_PROJECT_DESCRIPTION, "value"),
                 State(ids.NEW_PROJECT_TAGS, "value"), prevent_initial_call=True)(create_project)
