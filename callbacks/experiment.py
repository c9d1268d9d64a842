"""Experiment page: header, the run table's rows (infinite model), live refresh and state in the URL."""
from __future__ import annotations

import csv
import io

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components.common import not_found, page_header, status_badge
from components.grids import run_column_defs, run_grid
from components.run_columns import column_chooser
from components.url_state import (format_sort, parse_aggregates, parse_filter, parse_hidden, parse_list, parse_sort,
                                  run_table_search, selected_ids)
from services import experiments, projects, run_table
from services.errors import NotFound, ServiceError

FIRST_BLOCK = 100  # the grid's cacheBlockSize
REFRESH_MS = 1000  # a new run shows within two seconds; an idle tick costs one counter read


def scope(experiment_id: str) -> str:
    return f"exp:{experiment_id}"


def load_experiment(experiment_id: str | None, query: dict | None) -> html.Div:
    """The page for this experiment, with the table state a shared link carries (?sort, filter, sel, agg)."""
    who, query = actor(), query or {}
    version = core().bus.version(scope(experiment_id or ""))  # read first: anything later bumps past it
    try:
        exp = experiments.get_experiment(core(), who, experiment_id or "")
        project = projects.get_project(core(), who, exp["project_id"])
        columns = run_table.discover_columns(core(), who, exp["id"])
    except NotFound:
        return not_found("experiment")
    aggregates, sort, filter_model = parse_aggregates(query.get("agg")), parse_sort(query.get("sort")), \
        parse_filter(query.get("filter"))
    hidden = parse_hidden(query.get("hide"))
    defs, top_level = run_column_defs(columns, aggregates, sort, hidden), query.get("top") == "1"
    trends = [dbc.Button("Trends & cost", href=f"/experiments/{exp['id']}/trends", color="light", size="sm",
                         className="border", id="exp-trends-link")]
    header = page_header(exp["name"], exp["description"] or None, trends,
                         trail=[("Projects", "/projects"), (project["name"], f"/projects/{project['id']}"),
                                (exp["name"], None)], badges=[status_badge(exp["status"])])
    hypothesis = html.Div([html.Span("Hypothesis ", className="fw-semibold"), exp["hypothesis"]],
                          className="hypothesis mb-2") if exp["hypothesis"] else None
    toolbar = html.Div([
        html.Span(id=ids.RUN_COUNT, className="text-secondary small"),
        html.Span(id=ids.RUN_SELECTION, className="small ms-3"),
        dbc.Button("Compare selected", id=ids.RUN_COMPARE, color="primary", size="sm", className="ms-3",
                   href="/compare?runs=" + ",".join(parse_list(query.get("sel"))), disabled=not query.get("sel")),
        column_chooser(columns, hidden),
        dbc.Button("Download CSV", id=ids.RUN_EXPORT, color="light", size="sm", className="ms-3 border"),
        dbc.Switch(id=ids.RUN_TOP_LEVEL, label="Top-level runs only", value=top_level,
                   className="small ms-3 mb-0"),
        dcc.Download(id=ids.RUN_DOWNLOAD),
        html.Div([html.Span("Metric columns: last", className="small text-secondary me-2"),
                  dbc.Checklist(id=ids.RUN_AGGREGATES, options=[{"label": "min", "value": "min"},
                                                                {"label": "max", "value": "max"}],
                                value=aggregates, inline=True, switch=True, className="small")],
                 className="d-flex align-items-center ms-auto")], className="d-flex align-items-center mb-2")
    return html.Div([header, hypothesis, html.Div(id=ids.EXP_SUMMARY), toolbar,
                     run_grid(defs, filter_model, parse_list(query.get("sel"))),
                     dcc.Store(id=ids.RUN_FIRST_BLOCK, data=first_block(exp["id"], sort, filter_model, top_level)),
                     dcc.Store(id=ids.RUN_ROWS_REQUEST), dcc.Store(id=ids.EXP_SEEN, data=version),
                     dcc.Store(id=ids.EXP_COLUMNS, data=columns), dcc.Store(id=ids.EXP_HIDDEN, data=hidden),
                     dcc.Interval(id=ids.EXP_TICK, interval=REFRESH_MS,
                                  disabled=not core().settings.enable_real_time_plots)])


def first_block(experiment_id: str, sort: list[tuple[str, str]], filter_model: dict,
                top_level: bool = False) -> dict:
    """Rows [0, FIRST_BLOCK) for the table state the page opens with, exactly as get_rows would answer the grid's
    first request; the browser answers that request from it (assets/clientside.js serveRows)."""
    sort_model = [{"colId": col, "sort": direction} for col, direction in sort]
    response, label = get_rows({"startRow": 0, "endRow": FIRST_BLOCK, "sortModel": sort_model,
                                "filterModel": filter_model}, experiment_id, top_level)
    return {"end": FIRST_BLOCK, "sort": format_sort(sort_model), "filter": filter_model, "response": response,
            "label": label}


def get_rows(request: dict | None, experiment_id: str, top_level: bool | None = False) -> tuple:
    """One block of rows for AG Grid's infinite model; sort and filter become SQL over whitelisted columns."""
    if not request:
        raise PreventUpdate
    try:
        page = run_table.fetch_rows(core(), actor(), experiment_id, request.get("startRow", 0),
                                    request.get("endRow", 100), request.get("sortModel"),
                                    request.get("filterModel"), bool(top_level))
    except NotFound:
        return {"rowData": [], "rowCount": 0}, "Not found"
    except ServiceError as exc:
        return {"rowData": [], "rowCount": 0}, exc.message
    total = page["rowCount"]
    return page, f"{total} run{'s' if total != 1 else ''}"


def refresh(_tick: int, experiment_id: str, seen: int | None, known: dict | None, aggregates: list | None,
            request: dict | None, hidden: list | None = None) -> tuple:
    """Idle ticks cost one counter read; when it moved, new columns are added and the table refetched."""
    version = core().bus.version(scope(experiment_id))
    if seen is None or version == seen:
        raise PreventUpdate
    columns = run_table.discover_columns(core(), actor(), experiment_id)
    if columns == known:
        return version, no_update, no_update
    return version, columns, run_column_defs(columns, aggregates or [], _grid_sort(request), hidden)


def change_columns(aggregates: list | None, hidden: list | None, columns: dict | None,
                   request: dict | None) -> list[dict]:
    """The shown aggregates or the column chooser changed: the same columns, some hidden or added."""
    return run_column_defs(columns or {}, aggregates or [], _grid_sort(request), hidden)


def _grid_sort(request: dict | None) -> list[tuple[str, str]]:
    """The grid's current sort, from its last rows request, as run_column_defs takes it."""
    return [(s["colId"], s.get("sort", "asc")) for s in (request or {}).get("sortModel") or []]


def sync_url(request: dict | None, selected: list | dict | None, aggregates: list | None,
             top_level: bool | None = False, hidden: list | None = None) -> tuple:
    """The address bar follows the table (sort, filter, selection, aggregates, hidden columns): a shareable link."""
    ids_ = selected_ids(selected)
    request = request or {}
    search = run_table_search(request.get("sortModel"), request.get("filterModel"), ids_, aggregates or [],
                              bool(top_level), hidden)
    label = f"{len(ids_)} selected" if ids_ else ""
    return search, label


def export_csv(clicks: int | None, request: dict | None, experiment_id: str, columns: dict | None,
               aggregates: list | None, top_level: bool | None = False, hidden: list | None = None) -> dict:
    """Every run matching the table's current sort and filter, with the shown columns, as a CSV download."""
    if not clicks:
        raise PreventUpdate
    request = request or {}
    rows = run_table.export_rows(core(), actor(), experiment_id, request.get("sortModel"), request.get("filterModel"),
                                 top_level=bool(top_level))
    return dcc.send_string(runs_csv(rows, columns or {}, aggregates or [], hidden),
                           f"runs-{experiment_id[:8]}.csv")


def runs_csv(rows: list[dict], columns: dict, aggregates: list[str], hidden: list[str] | None = None) -> str:
    """The rows with the table's shown columns (id and name always)."""
    off = set(hidden or ())
    fields = [("id", "id"), ("name", "name")] + [
        (field, header) for field, header, choice in
        [("status", "status", "status"), ("user", "user", "user"), ("start_time", "start_time", "start_time"),
         ("duration", "duration_s", "duration"), ("parent_run_id", "parent_run_id", "parent")] if choice not in off]
    fields += [(f"p:{p['key']}", f"param.{p['key']}") for p in columns.get("params", [])
               if f"p:{p['key']}" not in off]
    fields += [(f"m:{k}:{agg}", f"metric.{k}.{agg}") for k in columns.get("metrics", []) if f"m:{k}" not in off
               for agg in ["last", *[a for a in aggregates if a != "last"]]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for _, header in fields])
    for row in rows:
        writer.writerow([_cell(row.get(field)) for field, _ in fields])
    return out.getvalue()


def _cell(value: object) -> object:
    """Spreadsheets run text starting with = + - @ as a formula: such text gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def register(app: Dash) -> None:
    app.clientside_callback(ClientsideFunction("et", "serveRows"),
                            Output(ids.RUN_GRID, "getRowsResponse", allow_duplicate=True),
                            Output(ids.RUN_COUNT, "children", allow_duplicate=True),
                            Output(ids.RUN_ROWS_REQUEST, "data"), Output(ids.RUN_FIRST_BLOCK, "data"),
                            Input(ids.RUN_GRID, "getRowsRequest"), State(ids.RUN_FIRST_BLOCK, "data"),
                            prevent_initial_call=True)
    app.callback(Output(ids.RUN_GRID, "getRowsResponse"), Output(ids.RUN_COUNT, "children"),
                 Input(ids.RUN_ROWS_REQUEST, "data"), State(ids.EXP_ID, "data"), State(ids.RUN_TOP_LEVEL, "value"),
                 prevent_initial_call=True)(get_rows)
    app.callback(Output(ids.EXP_SEEN, "data"), Output(ids.EXP_COLUMNS, "data"),
                 Output(ids.RUN_GRID, "columnDefs"),
                 Input(ids.EXP_TICK, "n_intervals"), State(ids.EXP_ID, "data"), State(ids.EXP_SEEN, "data"),
                 State(ids.EXP_COLUMNS, "data"), State(ids.RUN_AGGREGATES, "value"),
                 State(ids.RUN_GRID, "getRowsRequest"), State(ids.EXP_HIDDEN, "data"),
                 prevent_initial_call=True)(refresh)
    app.callback(Output(ids.RUN_GRID, "columnDefs", allow_duplicate=True), Input(ids.RUN_AGGREGATES, "value"),
                 Input(ids.EXP_HIDDEN, "data"), State(ids.EXP_COLUMNS, "data"), State(ids.RUN_GRID, "getRowsRequest"),
                 prevent_initial_call=True)(change_columns)
    app.callback(Output(ids.EXP_URL, "search"), Output(ids.RUN_SELECTION, "children"),
                 Input(ids.RUN_GRID, "getRowsRequest"), Input(ids.RUN_GRID, "selectedRows"),
                 Input(ids.RUN_AGGREGATES, "value"), Input(ids.RUN_TOP_LEVEL, "value"), Input(ids.EXP_HIDDEN, "data"),
                 prevent_initial_call=True)(sync_url)
    app.callback(Output(ids.RUN_DOWNLOAD, "data"), Input(ids.RUN_EXPORT, "n_clicks"),
                 State(ids.RUN_GRID, "getRowsRequest"), State(ids.EXP_ID, "data"), State(ids.EXP_COLUMNS, "data"),
                 State(ids.RUN_AGGREGATES, "value"), State(ids.RUN_TOP_LEVEL, "value"), State(ids.EXP_HIDDEN, "data"),
                 prevent_initial_call=True)(export_csv)
    app.clientside_callback(ClientsideFunction("et", "refreshRunGrid"), Input(ids.EXP_SEEN, "data"),
                            prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("et", "refreshRunGrid"), Input(ids.RUN_TOP_LEVEL, "value"),
                            prevent_initial_call=True)
