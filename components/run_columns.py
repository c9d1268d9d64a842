"""The run table's column chooser: attributes, params and metrics discovered from the data, checked = shown."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids

ATTRIBUTES = [("status", "Status"), ("user", "User"), ("start_time", "Started"), ("duration", "Duration"),
              ("parent", "Parent run")]
GATE = ("gate", "Gate")


def column_values(columns: dict) -> dict[str, list[str]]:
    """Every choosable column of the table by group: fixed attributes, "p:<param>", "m:<metric>"."""
    attrs = [value for value, _ in ATTRIBUTES] + ([GATE[0]] if columns.get("gated") else [])
    return {"attrs": attrs, "params": [f"p:{p['key']}" for p in columns.get("params", [])],
            "metrics": [f"m:{key}" for key in columns.get("metrics", [])]}


def column_options(columns: dict, text: str | None = None) -> dict[str, list[dict]]:
    """Checklist options by group, narrowed to names containing `text` (case-insensitive)."""
    names = dict(ATTRIBUTES + [GATE])
    needle = (text or "").strip().lower()
    out = {}
    for group, values in column_values(columns).items():
        labels = [(v, names.get(v, v.split(":", 1)[-1])) for v in values]
        out[group] = [{"label": label, "value": v} for v, label in labels if needle in label.lower()]
    return out


def shown_values(columns: dict, hidden: list[str] | set[str]) -> dict[str, list[str]]:
    return {group: [v for v in values if v not in hidden] for group, values in column_values(columns).items()}


def hidden_from(columns: dict, *shown: list[str] | None) -> list[str]:
    """The columns not checked in any group (what ?hide= carries), in table order."""
    checked = {v for values in shown for v in values or []}
    return [v for values in column_values(columns).values() for v in values if v not in checked]


def button_label(columns: dict, hidden: list[str] | set[str]) -> str:
    choosable = {v for values in column_values(columns).values() for v in values}
    total, hidden_count = len(choosable), len(choosable & set(hidden))
    return f"Columns ({total - hidden_count} of {total})" if hidden_count else "Columns"


def column_chooser(columns: dict, hidden: list[str]) -> html.Span:
    """The "Columns" button and its popover: a filter box, show all / hide all, one checklist per group."""
    options, shown = column_options(columns), shown_values(columns, hidden)

    def group(title: str, key: str, component_id: str) -> html.Div:
        return html.Div([html.Div(title, className="chooser-group small text-secondary text-uppercase mt-2"),
                         dbc.Checklist(id=component_id, options=options[key], value=shown[key],
                                       className="small chooser-list")])

    body = dbc.PopoverBody([
        dcc.Input(id=ids.RUN_COLUMNS_FILTER, type="search", placeholder="Filter columns…", debounce=False,
                  className="form-control form-control-sm mb-2"),
        html.Div([dbc.Button("Show all", id=ids.RUN_COLUMNS_ALL, size="sm", color="link", className="p-0 me-3"),
                  dbc.Button("Hide all", id=ids.RUN_COLUMNS_NONE, size="sm", color="link", className="p-0")]),
        html.Div([group("Attributes", "attrs", ids.RUN_COLUMNS_ATTRS),
                  group("Parameters", "params", ids.RUN_COLUMNS_PARAMS),
                  group("Metrics", "metrics", ids.RUN_COLUMNS_METRICS)], className="chooser-lists")])
    return html.Span([dbc.Button(button_label(columns, hidden), id=ids.RUN_COLUMNS_BUTTON, color="light", size="sm",
                                 className="ms-3 border"),
                      dbc.Popover(body, target=ids.RUN_COLUMNS_BUTTON, trigger="legacy", placement="bottom-start",
                                  className="column-chooser")])
