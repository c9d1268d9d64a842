"""Project settings dialog: save description and tags (the header follows), share, re-role or unshare teams."""
from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from callbacks.project import project_header
from components import ids
from components.common import error_alert
from components.forms import split_tags
from components.project_settings import share_rows
from services import projects
from services.errors import ServiceError

MAX_DESCRIPTION = 5000


def toggle_settings(_open: int | None, _close: int | None) -> bool:
    return ctx.triggered_id == ids.PROJECT_SETTINGS_OPEN and bool(_open)


def save_settings(clicks: int | None, project_id: str, description: str | None, tags: str | None) -> tuple:
    """Update description and tags; on success the dialog closes and the page header shows the new values."""
    if not clicks:
        raise PreventUpdate
    if len(description or "") > MAX_DESCRIPTION:
        return error_alert(f"The description is too long (at most {MAX_DESCRIPTION} characters)."), no_update, \
            no_update
    try:
        project = projects.update_project(core(), actor(), project_id, (description or "").strip(),
                                          split_tags(tags))
    except ServiceError as exc:
        return error_alert(exc.message), no_update, no_update
    return None, False, project_header(project, True)


def _message(text: str) -> html.Div:
    return html.Div(text, className="text-success small", id="project-share-done")


def change_share(_add: int | None, _roles: list, _removes: list, project_id: str, team: str | None,
                 new_role: str | None) -> tuple:
    """Add a share (team name + role), change a listed team's role, or remove it; errors name what was wrong."""
    trigger = ctx.triggered_id
    if trigger is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate
    who = actor()
    if trigger == ids.PROJECT_SHARE_ADD:
        name, role = (team or "").strip(), new_role or "viewer"
        if not name:
            return no_update, error_alert("Type the name of the team to share with."), no_update
    else:
        name = trigger["team"]
        role = None if trigger["type"] == ids.PROJECT_SHARE_REMOVE else ctx.triggered[0]["value"]
    try:
        current = {s["team"]: s["role"] for s in projects.list_shares(core(), who, project_id)}
        if trigger != ids.PROJECT_SHARE_ADD and current.get(name) == role:
            raise PreventUpdate
        projects.share_project(core(), who, project_id, name, role)
        shares = projects.list_shares(core(), who, project_id)
    except ServiceError as exc:
        return no_update, error_alert(exc.message), no_update
    done = f"Removed the share with {name}." if role is None else f"Shared with {name} as {role}."
    return share_rows(shares, True), _message(done), "" if trigger == ids.PROJECT_SHARE_ADD else no_update


def register(app: Dash) -> None:
    app.callback(Output(ids.PROJECT_SETTINGS_MODAL, "is_open"), Input(ids.PROJECT_SETTINGS_OPEN, "n_clicks"),
                 Input(ids.PROJECT_SETTINGS_CLOSE, "n_clicks"), prevent_initial_call=True)(toggle_settings)
    app.callback(Output(ids.PROJECT_SETTINGS_ERROR, "children"),
                 Output(ids.PROJECT_SETTINGS_MODAL, "is_open", allow_duplicate=True),
                 Output(ids.PROJECT_HEADER, "children"), Input(ids.PROJECT_SETTINGS_SAVE, "n_clicks"),
                 State(ids.PROJECT_ID, "data"), State(ids.PROJECT_SETTINGS_DESCRIPTION, "value"),
                 State(ids.PROJECT_SETTINGS_TAGS, "value"), prevent_initial_call=True)(save_settings)
    app.callback(Output(ids.PROJECT_SHARES, "children"), Output(ids.PROJECT_SHARE_MESSAGE, "children"),
                 Output(ids.PROJECT_SHARE_TEAM, "value"), Input(ids.PROJECT_SHARE_ADD, "n_clicks"),
                 Input({"type": ids.PROJECT_SHARE_ROLE, "team": ALL}, "value"),
                 Input({"type": ids.PROJECT_SHARE_REMOVE, "team": ALL}, "n_clicks"),
                 State(ids.PROJECT_ID, "data"), State(ids.PROJECT_SHARE_TEAM, "value"),
                 State(ids.PROJECT_SHARE_NEW_ROLE, "value"), prevent_initial_call=True)(change_share)
