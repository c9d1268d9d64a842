"""Run page tags: read-only for viewers; editors get an edit mode to add, change and remove tags."""
from __future__ import annotations

import json
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate
from plotly.utils import PlotlyJSONEncoder

from callbacks.common import actor, core
from callbacks.run_artifacts import has_id
from components import ids
from components.common import error_alert
from components.run_detail import kv_card
from services import experiments, projects, runs
from services.access import RANK
from services.errors import NotFound, ServiceError

MAX_VALUE = 5000


def tag_view(tags: dict, can_edit: bool, message: str | None = None) -> html.Div:
    card = kv_card("Tags", tags, "No tags.", card_id=ids.TAG_VIEW)
    if can_edit:
        card.children.children.append(html.Div([
            dbc.Button("Edit tags", id=ids.TAG_EDIT, size="sm", color="secondary", outline=True),
            html.Span(message or "", className="small text-success ms-2")], className="mt-2"))
    return card


def tag_editor(tags: dict) -> dbc.Card:
    rows = [html.Tr([html.Td(key, className="align-middle"),
                     html.Td(dbc.Input(id={"type": ids.TAG_VALUE, "key": key}, value=value, size="sm")),
                     html.Td(dbc.Checkbox(id={"type": ids.TAG_REMOVE, "key": key}, value=False, label="remove",
                                          className="small text-nowrap"))]) for key, value in sorted(tags.items())]
    new = html.Tr([html.Td(dbc.Input(id=ids.TAG_NEW_KEY, placeholder="new key", size="sm")),
                   html.Td(dbc.Input(id=ids.TAG_NEW_VALUE, placeholder="value", size="sm")), html.Td()])
    return dbc.Card(dbc.CardBody([
        html.Div("Tags", className="card-title-sm"),
        html.Table(html.Tbody(rows + [new]), className="table table-sm kv-table mb-2"),
        html.Div([dbc.Button("Save tags", id=ids.TAG_SAVE, size="sm", color="primary"),
                  dbc.Button("Cancel", id=ids.TAG_CANCEL, size="sm", color="link")], className="d-flex gap-2"),
        html.Div(id=ids.TAG_MESSAGE, className="mt-2")]), className="mb-3", id=ids.TAG_EDITOR)


def _run_and_role(run_id: str) -> tuple[dict, bool]:
    who = actor()
    run = runs.get_run(core(), who, run_id)
    exp = experiments.get_experiment(core(), who, run["experiment_id"])
    role = projects.get_project(core(), who, exp["project_id"]).get("role") or ""
    return run, RANK.get(role, 0) >= RANK["editor"]


def render_tags(_version: int | None, run_id: str | None, current: Any) -> object:
    """Redrawn when the run's version moves, except while the editor is open (never drop unsaved edits)."""
    if not run_id or has_id(current, ids.TAG_EDITOR):
        raise PreventUpdate
    try:
        run, can_edit = _run_and_role(run_id)
    except NotFound:
        raise PreventUpdate from None
    if current and _same(tag_view(run["tags"], can_edit, _shown_message(current)), current):
        raise PreventUpdate  # nothing changed: keep what is shown (a "Saved." stays until the tags move)
    return tag_view(run["tags"], can_edit)


def _shown_message(current: Any) -> str | None:
    return "Saved." if "Saved." in json.dumps(current) else None


def _same(view: html.Div, current: Any) -> bool:
    """Whether a freshly built view equals the tree the browser shows (as Dash sends it back, plain JSON)."""
    return json.loads(json.dumps(view, cls=PlotlyJSONEncoder)) == current


def _clicked_run(clicks: int | None, run_id: str | None) -> tuple[dict, bool]:
    """The run and whether the user may edit it, for a button click; PreventUpdate without a click or a run."""
    if not clicks or not run_id:
        raise PreventUpdate
    try:
        return _run_and_role(run_id)
    except NotFound:
        raise PreventUpdate from None


def start_edit(clicks: int | None, run_id: str | None) -> object:
    run, can_edit = _clicked_run(clicks, run_id)
    return tag_editor(run["tags"]) if can_edit else tag_view(run["tags"], False)


def cancel_edit(clicks: int | None, run_id: str | None) -> object:
    run, can_edit = _clicked_run(clicks, run_id)
    return tag_view(run["tags"], can_edit)


def tag_changes(current: dict, value_ids: list, values: list, remove_ids: list, removes: list,
                new_key: str | None, new_value: str | None) -> dict[str, str | None]:
    """What the form asks for: changed values, removed keys (None), one new tag; ValueError on a bad form."""
    changes: dict[str, str | None] = {}
    for ident, value in zip(value_ids or [], values or []):
        key = ident.get("key") if isinstance(ident, dict) else None
        if key in current and (value or "") != current[key]:
            changes[key] = value or ""
    for ident, remove in zip(remove_ids or [], removes or []):
        key = ident.get("key") if isinstance(ident, dict) else None
        if remove and key in current:
            changes[key] = None
    key = (new_key or "").strip()
    if key:
        changes[key] = new_value or ""
    elif (new_value or "").strip():
        raise ValueError("Enter a key for the new tag.")
    too_long = [k for k, v in changes.items() if v is not None and len(v) > MAX_VALUE]
    if too_long:
        raise ValueError(f"The value of tag {too_long[0]!r} is longer than {MAX_VALUE} characters.")
    return changes


def save_tags(clicks: int | None, run_id: str | None, value_ids: list, values: list, remove_ids: list,
              removes: list, new_key: str | None, new_value: str | None) -> tuple:
    """Apply the edit through update_run (merge; a None value removes the tag); errors keep the editor open."""
    if not clicks or not run_id:
        raise PreventUpdate
    try:
        run, can_edit = _run_and_role(run_id)
        changes = tag_changes(run["tags"], value_ids, values, remove_ids, removes, new_key, new_value)
        if not changes:
            return no_update, html.Div("Nothing changed.", className="small text-secondary")
        updated = runs.update_run(core(), actor(), run_id, tags=changes)
    except ValueError as exc:
        return no_update, error_alert(str(exc))
    except ServiceError as exc:
        return no_update, error_alert(exc.message)
    return tag_view(updated["tags"], can_edit, "Saved."), no_update


def register(app: Dash) -> None:
    app.callback(Output(ids.RUN_TAGS, "children"), Input(ids.RUN_PANELS, "data"), State(ids.RUN_ID, "data"),
                 State(ids.RUN_TAGS, "children"), prevent_initial_call=True)(render_tags)
    app.callback(Output(ids.RUN_TAGS, "children", allow_duplicate=True), Input(ids.TAG_EDIT, "n_clicks"),
                 State(ids.RUN_ID, "data"), prevent_initial_call=True)(start_edit)
    app.callback(Output(ids.RUN_TAGS, "children", allow_duplicate=True), Input(ids.TAG_CANCEL, "n_clicks"),
                 State(ids.RUN_ID, "data"), prevent_initial_call=True)(cancel_edit)
    app.callback(Output(ids.RUN_TAGS, "children", allow_duplicate=True),
                 Output(ids.TAG_MESSAGE, "children"), Input(ids.TAG_SAVE, "n_clicks"), State(ids.RUN_ID, "data"),
                 State({"type": ids.TAG_VALUE, "key": ALL}, "id"), State({"type": ids.TAG_VALUE, "key": ALL}, "value"),
                 State({"type": ids.TAG_REMOVE, "key": ALL}, "id"),
                 State({"type": ids.TAG_REMOVE, "key": ALL}, "value"),
                 State(ids.TAG_NEW_KEY, "value"), State(ids.TAG_NEW_VALUE, "value"),
                 prevent_initial_call=True)(save_tags)
