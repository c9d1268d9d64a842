"""API tokens page: list, create (plaintext shown once) and revoke the signed-in user's tokens."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components.common import error_alert
from services import accounts
from services.errors import ServiceError


def _when(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "—"


def list_tokens(_refresh: int | None) -> html.Div:
    tokens = accounts.list_tokens(core(), actor())
    if not tokens:
        return html.P("No tokens yet.", className="text-secondary", id="tokens-empty")
    rows = [html.Tr([html.Td(t["name"] or "—"), html.Td(html.Code(f"{t['prefix']}…")), html.Td(_when(t["created_at"])),
                     html.Td(_when(t["last_used_at"])),
                     html.Td(dbc.Badge("revoked", color="secondary") if t["revoked_at"]
                             else dbc.Badge("active", color="success")),
                     html.Td(None if t["revoked_at"] else dbc.Button(
                         "Revoke", id={"type": ids.TOKEN_REVOKE, "id": t["id"]}, color="outline-danger", size="sm"))])
            for t in tokens]
    head = html.Thead(html.Tr([html.Th(h) for h in ("Name", "Token", "Created (UTC)", "Last used", "Status", "")]))
    return dbc.Card(html.Table([head, html.Tbody(rows)], className="table table-sm align-middle mb-0"),
                    body=True)


def create_token(clicks: int | None, name: str | None, refresh: int | None) -> tuple:
    if not clicks:
        raise PreventUpdate
    try:
        token = accounts.create_token(core(), actor(), (name or "").strip() or "dashboard")
    except ServiceError as exc:
        return error_alert(exc.message), no_update, no_update
    shown = dbc.Alert([html.Div("Copy this token now — it is not shown again.", className="fw-semibold mb-1"),
                       html.Div([html.Code(token["token"], id="token-plaintext"),
                                 dcc.Clipboard(target_id="token-plaintext", className="snippet-copy ms-2")],
                                className="d-flex align-items-center")], color="success", id="token-created-alert")
    return shown, "", (refresh or 0) + 1


def revoke_clicked(clicks: list, refresh: int | None) -> tuple:
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or []):
        raise PreventUpdate
    return revoke_token(trigger["id"], refresh)


def revoke_token(token_id: str, refresh: int | None) -> tuple:
    try:
        accounts.revoke_token(core(), actor(), token_id)
    except ServiceError as exc:
        return error_alert(exc.message), no_update
    return None, (refresh or 0) + 1


def register(app: Dash) -> None:
    app.callback(Output(ids.TOKENS_LIST, "children"), Input(ids.TOKENS_REFRESH, "data"))(list_tokens)
    app.callback(Output(ids.TOKEN_CREATED, "children"), Output(ids.TOKEN_NAME, "value"),
                 Output(ids.TOKENS_REFRESH, "data"), Input(ids.TOKEN_CREATE, "n_clicks"),
                 State(ids.TOKEN_NAME, "value"), State(ids.TOKENS_REFRESH, "data"),
                 prevent_initial_call=True)(create_token)
    app.callback(Output(ids.TOKEN_CREATED, "children", allow_duplicate=True),
                 Output(ids.TOKENS_REFRESH, "data", allow_duplicate=True),
                 Input({"type": ids.TOKEN_REVOKE, "id": ALL}, "n_clicks"), State(ids.TOKENS_REFRESH, "data"),
                 prevent_initial_call=True)(revoke_clicked)
