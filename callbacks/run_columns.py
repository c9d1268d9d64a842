"""The run table's column chooser: checked columns are shown; the hidden ones go to EXP_HIDDEN (and ?hide=)."""
from __future__ import annotations

from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.run_columns import button_label, column_options, column_values, hidden_from, shown_values

GROUPS = (ids.RUN_COLUMNS_ATTRS, ids.RUN_COLUMNS_PARAMS, ids.RUN_COLUMNS_METRICS)


def choose(attrs: list | None, params: list | None, metrics: list | None, columns: dict | None,
           known: list | None) -> tuple[list[str], str]:
    """The checklists changed: the hidden columns and the button's "Columns (n of m)"."""
    hidden = hidden_from(columns or {}, attrs, params, metrics)
    if hidden == (known or []):
        raise PreventUpdate
    return hidden, button_label(columns or {}, hidden)


def show_all_or_none(_all: int | None, _none: int | None, columns: dict | None) -> tuple:
    if ctx.triggered_id not in (ids.RUN_COLUMNS_ALL, ids.RUN_COLUMNS_NONE):
        raise PreventUpdate
    groups = column_values(columns or {})
    if ctx.triggered_id == ids.RUN_COLUMNS_NONE:
        return [], [], []
    return groups["attrs"], groups["params"], groups["metrics"]


def update_lists(text: str | None, columns: dict | None, hidden: list | None) -> tuple:
    """Options follow the filter box and newly discovered columns; new columns come in checked (shown)."""
    options = column_options(columns or {}, text)
    lists = (options["attrs"], options["params"], options["metrics"])
    if ctx.triggered_id != ids.EXP_COLUMNS:
        return (*lists, no_update, no_update, no_update)
    shown = shown_values(columns or {}, hidden or [])
    return (*lists, shown["attrs"], shown["params"], shown["metrics"])


def register(app: Dash) -> None:
    app.callback(Output(ids.EXP_HIDDEN, "data"), Output(ids.RUN_COLUMNS_BUTTON, "children"),
                 *(Input(group, "value") for group in GROUPS), State(ids.EXP_COLUMNS, "data"),
                 State(ids.EXP_HIDDEN, "data"), prevent_initial_call=True)(choose)
    app.callback(*(Output(group, "value", allow_duplicate=True) for group in GROUPS),
                 Input(ids.RUN_COLUMNS_ALL, "n_clicks"), Input(ids.RUN_COLUMNS_NONE, "n_clicks"),
                 State(ids.EXP_COLUMNS, "data"), prevent_initial_call=True)(show_all_or_none)
    app.callback(*(Output(group, "options") for group in GROUPS), *(Output(group, "value") for group in GROUPS),
                 Input(ids.RUN_COLUMNS_FILTER, "value"), Input(ids.EXP_COLUMNS, "data"),
                 State(ids.EXP_HIDDEN, "data"), prevent_initial_call=True)(update_lists)
