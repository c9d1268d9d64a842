"""Run page artifacts: the list (paged by "Show more"), a click-to-preview pane, the preview in the URL's #hash."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, base_url, core
from components import ids
from components.artifacts import PAGE, artifact_table, empty_state, panel, preview_error, preview_pane
from services import artifact_preview, artifacts
from services.errors import NotFound, ServiceError
from services.paging import MAX_LIMIT


def selected_from_hash(url_hash: str | None) -> str | None:
    """"#artifact=<id>" → the id (the address bar keeps the previewed artifact so a link opens it)."""
    values = parse_qs((url_hash or "").lstrip("#")).get("artifact") or []
    return values[0][:64] if values else None


def has_id(tree: Any, component_id: str) -> bool:
    """Whether a rendered tree (as Dash sends it back: JSON dicts) contains a component with this id."""
    return f'"id": {json.dumps(component_id)}' in json.dumps(tree) if tree else False


def render_panel(_version: int | None, run_id: str | None, current: Any, url_hash: str | None) -> object:
    """The card's frame, drawn once; later version moves refresh only the list (so the preview stays open)."""
    if not run_id or has_id(current, ids.ART_PANEL):
        raise PreventUpdate
    return panel(PAGE, selected_from_hash(url_hash))


def render_list(_version: int | None, limit: int | None, selected: str | None, run_id: str | None) -> object:
    if not run_id:
        raise PreventUpdate
    try:
        page = artifacts.list_artifacts(core(), actor(), run_id, limit=min(int(limit or PAGE), MAX_LIMIT))
    except NotFound:
        raise PreventUpdate from None
    except ServiceError as exc:
        return preview_error(exc.message)
    if not page.items:
        return empty_state(base_url(), run_id)
    return artifact_table(page.items, page.total or len(page.items), selected)


def show_more(clicks: int | None, limit: int | None) -> int:
    if not clicks:
        raise PreventUpdate
    return min(int(limit or PAGE) + PAGE, MAX_LIMIT)


def chosen(triggered: Any, clicks: list | None) -> str:
    """The artifact whose name was clicked (a list redraw also "triggers" with no clicks: ignore it)."""
    if not isinstance(triggered, dict) or not any(clicks or []):
        raise PreventUpdate
    return str(triggered.get("id"))


def pick(clicks: list | None) -> str:
    return chosen(ctx.triggered_id, clicks)


def show_preview(selected: str | None, run_id: str | None) -> tuple:
    """The preview pane for the chosen artifact and the address bar's #artifact=… for it."""
    if not run_id or not selected:
        return None, no_update
    try:
        preview = artifact_preview.preview_artifact(core(), actor(), run_id, selected)
    except ServiceError as exc:
        return preview_error(exc.message), ""
    return preview_pane(preview), f"#artifact={selected}"


def register(app: Dash) -> None:
    app.callback(Output(ids.RUN_ARTIFACTS, "children"), Input(ids.RUN_PANELS, "data"), State(ids.RUN_ID, "data"),
                 State(ids.RUN_ARTIFACTS, "children"), State(ids.RUN_URL, "hash"),
                 prevent_initial_call=True)(render_panel)
    app.callback(Output(ids.ART_LIST, "children"), Input(ids.RUN_PANELS, "data"), Input(ids.ART_LIMIT, "data"),
                 Input(ids.ART_SELECTED, "data"), State(ids.RUN_ID, "data"))(render_list)
    app.callback(Output(ids.ART_LIMIT, "data"), Input(ids.ART_MORE, "n_clicks"), State(ids.ART_LIMIT, "data"),
                 prevent_initial_call=True)(show_more)
    app.callback(Output(ids.ART_SELECTED, "data"), Input({"type": ids.ART_PICK, "id": ALL}, "n_clicks"),
                 prevent_initial_call=True)(pick)
    app.callback(Output(ids.ART_PREVIEW, "children"), Output(ids.RUN_URL, "hash"),
                 Input(ids.ART_SELECTED, "data"), State(ids.RUN_ID, "data"))(show_preview)
