"""Project settings dialog: description and tags (editors), sharing with other teams (project admins)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components import ids

ROLE_OPTIONS = [{"label": "viewer", "value": "viewer"}, {"label": "editor", "value": "editor"}]


def share_rows(shares: list[dict], can_share: bool) -> html.Div:
    """One line per team the project is shared with: its role (a select for admins) and Remove."""
    if not shares:
        return html.P("Not shared with other teams.", className="text-secondary small mb-2", id="project-no-shares")
    lines = []
    for share in shares:
        team = share["team"]
        if can_share:
            role = dbc.Select(id={"type": ids.PROJECT_SHARE_ROLE, "team": team}, options=ROLE_OPTIONS,
                              value=share["role"], size="sm", style={"width": "8rem"})
            remove = dbc.Button("Remove", id={"type": ids.PROJECT_SHARE_REMOVE, "team": team}, color="link",
                                size="sm", className="text-danger")
            controls = [role, remove]
        else:
            controls = [dbc.Badge(share["role"], color="light", text_color="dark", className="border")]
        lines.append(html.Div([html.Span(team, className="fw-semibold me-auto share-team"), *controls],
                              className="d-flex align-items-center gap-2 py-1 border-bottom share-row"))
    return html.Div(lines, className="mb-2")


def _sharing(shares: list[dict], can_share: bool) -> html.Div:
    parts = [html.H2("Sharing", className="h6 mt-2"),
             html.Div(share_rows(shares, can_share), id=ids.PROJECT_SHARES)]
    if can_share:
        parts.append(dbc.InputGroup([
            dbc.Input(id=ids.PROJECT_SHARE_TEAM, placeholder="Team name, e.g. other-team", maxLength=100),
            dbc.Select(id=ids.PROJECT_SHARE_NEW_ROLE, options=ROLE_OPTIONS, value="viewer", style={"maxWidth": "8rem"}),
            dbc.Button("Share", id=ids.PROJECT_SHARE_ADD, color="secondary")], size="sm"))
    else:
        parts.append(html.P("Only project admins can change sharing.", className="text-secondary small mb-0"))
    parts.append(html.Div(id=ids.PROJECT_SHARE_MESSAGE, className="mt-2"))
    return html.Div(parts)


def settings_modal(project: dict, shares: list[dict], can_share: bool) -> dbc.Modal:
    """Details form (saved with Save) and the sharing list (each change applies at once)."""
    details = [dbc.Label("Description", html_for=ids.PROJECT_SETTINGS_DESCRIPTION),
               dbc.Textarea(id=ids.PROJECT_SETTINGS_DESCRIPTION, value=project.get("description") or "", rows=3,
                            maxLength=5000, className="mb-3"),
               dbc.Label("Tags", html_for=ids.PROJECT_SETTINGS_TAGS),
               dbc.Input(id=ids.PROJECT_SETTINGS_TAGS, value=", ".join(project.get("tags") or []),
                         placeholder="healthcare, nlp"),
               dbc.FormText("Comma separated."),
               html.Div(id=ids.PROJECT_SETTINGS_ERROR, className="mt-2"),
               html.Div(dbc.Button("Save details", id=ids.PROJECT_SETTINGS_SAVE, color="primary", size="sm"),
                        className="d-flex justify-content-end mt-2 mb-3")]
    body = [html.Div(details, className="border-bottom"), _sharing(shares, can_share)]
    return dbc.Modal([dbc.ModalHeader(dbc.ModalTitle(f"Settings · {project['name']}")), dbc.ModalBody(body),
                      dbc.ModalFooter(dbc.Button("Close", id=ids.PROJECT_SETTINGS_CLOSE, color="light"))],
                     id=ids.PROJECT_SETTINGS_MODAL, is_open=False)
