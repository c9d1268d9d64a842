"""Run page pieces: key/value cards, the metric summary table, parent and child run links."""
from __future__ import annotations

import json
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def kv_card(title: str, values: dict, empty: str = "None", card_id: str | None = None) -> dbc.Card:
    rows = [html.Tr([html.Td(str(k)), html.Td(_fmt(v))]) for k, v in sorted(values.items())]
    body = html.Table(html.Tbody(rows), className="table table-sm kv-table mb-0") if rows \
        else html.P(empty, className="text-secondary small mb-0")
    return dbc.Card(dbc.CardBody([html.Div(title, className="card-title-sm"), body]), className="mb-3",
                    id=card_id or f"run-{title.lower().replace(' ', '-')}")


def _short(value: float | None) -> str:
    return "—" if value is None else f"{value:.5g}"


def metric_table(summaries: list[dict]) -> html.Div:
    if not summaries:
        return html.P("No metrics logged yet.", className="text-secondary small mb-0")
    head = html.Thead(html.Tr([html.Th(h) for h in ("Metric", "Last", "Min", "Max")]))
    rows = [html.Tr([html.Td(s["key"]), html.Td(_short(s["last"])), html.Td(_short(s["min"])),
                     html.Td(_short(s["max"]))],
                    title=f"{s['count']} points, last at step {_fmt(s['last_step'])}") for s in summaries]
    return html.Table([head, html.Tbody(rows)], className="table table-sm metric-table mb-0")


def run_links(title: str, runs: list[dict]) -> dbc.Card | None:
    if not runs:
        return None
    items = [html.Li([dcc.Link(r["name"], href=f"/runs/{r['id']}"), html.Span(f" {r['status']}",
                                                                               className="small text-secondary")])
             for r in runs]
    return dbc.Card(dbc.CardBody([html.Div(title, className="card-title-sm"),
                                  html.Ul(items, className="mb-0 ps-3")]), className="mb-3",
                    id=f"run-{title.lower().replace(' ', '-')}")
