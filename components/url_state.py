"""Table state ⇄ query string, so a link reproduces what the sender saw (sort, filter, selection, columns)."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

MAX_SELECTED = 200
MAX_SORT = 5
MAX_HIDDEN = 2000  # hidden run-table columns a link may carry
AGGREGATES = ("min", "max")


def parse_sort(raw: Any) -> list[tuple[str, str]]:
    """"-m:loss:last,name" → [("m:loss:last", "desc"), ("name", "asc")]."""
    if not isinstance(raw, str):
        return []
    result = []
    for part in raw.split(",")[:MAX_SORT]:
        part = part.strip()
        if part.startswith("-") and len(part) > 1:
            result.append((part[1:], "desc"))
        elif part:
            result.append((part, "asc"))
    return result


def format_sort(sort_model: list | None) -> str:
    parts = []
    for item in sort_model or []:
        if isinstance(item, dict) and isinstance(item.get("colId"), str):
            parts.append(("-" if item.get("sort") == "desc" else "") + item["colId"])
    return ",".join(parts[:MAX_SORT])


def parse_filter(raw: Any) -> dict:
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        model = json.loads(raw)
    except ValueError:
        return {}
    return {k: v for k, v in model.items() if isinstance(k, str) and isinstance(v, dict)} \
        if isinstance(model, dict) else {}


def format_filter(filter_model: dict | None) -> str:
    return json.dumps(filter_model, separators=(",", ":"), sort_keys=True) if filter_model else ""


def parse_list(raw: Any, limit: int = MAX_SELECTED) -> list[str]:
    if not isinstance(raw, str):
        return []
    return [part for part in (p.strip() for p in raw.split(",")) if part][:limit]


def parse_hidden(raw: Any) -> list[str]:
    """?hide=user,p:lr,m:loss → the run table's hidden columns."""
    return parse_list(raw, MAX_HIDDEN)


def parse_aggregates(raw: Any) -> list[str]:
    return [a for a in parse_list(raw) if a in AGGREGATES]


def selected_ids(selected_rows: Any) -> list[str]:
    """dash-ag-grid's selectedRows (row dicts, or {"ids": [...]}) → run ids."""
    if isinstance(selected_rows, dict):
        return [i for i in selected_rows.get("ids") or [] if isinstance(i, str)][:MAX_SELECTED]
    return [row["id"] for row in selected_rows or [] if isinstance(row, dict) and isinstance(row.get("id"), str)
            ][:MAX_SELECTED]


def run_table_search(sort_model: list | None, filter_model: dict | None, selected: list[str],
                     aggregates: list[str], top_level: bool = False, hidden: list[str] | None = None) -> str:
    """The query string for the run table's state ("" when everything is default)."""
    pairs = [("sort", format_sort(sort_model)), ("filter", format_filter(filter_model)),
             ("sel", ",".join(selected[:MAX_SELECTED])), ("agg", ",".join(a for a in aggregates if a in AGGREGATES)),
             ("top", "1" if top_level else ""), ("hide", ",".join((hidden or [])[:MAX_HIDDEN]))]
    query = urlencode([(k, v) for k, v in pairs if v], safe=":,")
    return f"?{query}" if query else ""


def browser_search(team: str | None, tag: str | None) -> str:
    query = urlencode([(k, v) for k, v in (("team", team), ("tag", tag)) if v])
    return f"?{query}" if query else ""
