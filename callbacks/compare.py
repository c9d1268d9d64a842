"""Run comparison page: load the runs once, then tables, groups, brushing, curves, scatter and importance; URL state.

The loaded runs stay on the server (services.compare_runs.cached_runs, keyed by the runs' experiments' live
versions and access-checked on every call): the page holds only their ids, so a brush sends ids + ranges, not
every run's params and metrics."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import compare as view
from components import groups as group_view
from components import ids, parcoords
from components.common import not_found, page_header
from components.url_state import parse_list
from services import compare_runs, groups, metrics, validation
from services.errors import NotFound, ServiceError

CURVE_BUCKETS = 1000
MAX_GROUPED_RUNS = 100  # runs read for group mean curves (one downsampled read each)
MAX_TABLE_ROWS = 500
BASELINE_OPTIONS = 100  # runs offered by the baseline picker at a time; typing searches all of them  # run rows drawn in the params and metric tables (group rows summarize every run)
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
EMPTY = "No runs selected: select runs in an experiment's run table and press Compare."
GONE = "None of these runs can be read any more (deleted, or your access changed): reload the page."


def load_compare(query: dict | None) -> html.Div:
    """The whole page for ?runs=…&baseline=…&metrics=…&diff=0&group=…&brush=…; the runs are read once (into the
    server-side cache) and the page keeps only their ids (COMPARE_DATA: {"ids": [...]}) for its callbacks."""
    query = query or {}
    wanted = parse_list(query.get("runs"), limit=None)
    if not wanted:
        return html.Div([page_header("Compare runs"), view.empty_state(EMPTY, "compare-empty")])
    loaded = compare_runs.cached_runs(core(), actor(), wanted)
    runs = loaded["runs"]
    if not runs:
        return not_found("comparison")
    keys = view.metric_keys(runs)
    metric = next((k for k in parse_list(query.get("metrics")) if k in keys), keys[0] if keys else None)
    baseline = query.get("baseline") if query.get("baseline") in {r["id"] for r in runs} else runs[0]["id"]
    dims = parcoords.parcoords_dimensions(runs)
    labels = parcoords.axis_labels(runs, dims)
    brush = parcoords.decode_brush(labels, query.get("brush"))
    return html.Div([_header(runs), view.run_chips(runs), _missing(loaded["missing"]),
                     _controls(runs, baseline, metric, query),
                     *_sections(runs, metric, brush, dims, "time" if query.get("align") == "time" else "step"),
                     dcc.Store(id=ids.COMPARE_DATA, data={"ids": [r["id"] for r in runs]}),
                     dcc.Store(id=ids.COMPARE_BRUSH, data=brush), dcc.Store(id=ids.COMPARE_AXES, data=labels),
                     dcc.Store(id=ids.COMPARE_TABLES)])


def loaded_runs(handle: dict | None) -> list[dict]:
    """The page's runs ({"ids": [...]} from COMPARE_DATA) from the server-side cache, access-checked for the
    signed-in user on this call: runs deleted or no longer visible since the page loaded drop out."""
    wanted = handle.get("ids") if isinstance(handle, dict) else None
    if not isinstance(wanted, list) or not wanted:
        raise PreventUpdate
    return compare_runs.cached_runs(core(), actor(), wanted)["runs"]


def _header(runs: list[dict]) -> html.Div:
    experiments = {r["experiment_id"]: r["experiment_name"] for r in runs}
    projects = {r["project_id"]: r["project_name"] for r in runs}
    trail = [("Projects", "/projects")]
    if len(projects) == 1:
        (project_id, project_name), = projects.items()
        trail.append((project_name, f"/projects/{project_id}"))
    if len(experiments) == 1:
        (exp_id, exp_name), = experiments.items()
        trail.append((exp_name, f"/experiments/{exp_id}"))
    trail.append(("Compare", None))
    where = "one experiment" if len(experiments) == 1 else f"{len(experiments)} experiments"
    hint = " · select at least two runs to compare" if len(runs) == 1 else ""
    return page_header(f"Compare {len(runs)} run{'s' if len(runs) != 1 else ''}", f"from {where}{hint}",
                       trail=trail)


def _missing(missing: list[str]) -> dbc.Alert | None:
    if not missing:
        return None
    return dbc.Alert(f"{len(missing)} of the requested runs do not exist or you do not have access to them; "
                     "they are left out.", color="warning", className="py-2", id="compare-missing")


def _controls(runs: list[dict], baseline: str, metric: str | None, query: dict) -> dbc.Row:
    options = view.baseline_options(runs, baseline, limit=BASELINE_OPTIONS)
    keys = groups.key_options(runs)
    group = groups.parse_key(query.get("group"))
    return dbc.Row([
        dbc.Col([dbc.Label("Baseline run", className="small mb-0"),
                 dcc.Dropdown(id=ids.COMPARE_BASELINE, options=options, value=baseline, clearable=False)], md=3),
        dbc.Col([dbc.Label("Metric (curves, scatter, importance)", className="small mb-0"),
                 dcc.Dropdown(id=ids.COMPARE_METRIC, options=view.metric_keys(runs), value=metric,
                              clearable=False, placeholder="No metrics")], md=3),
        dbc.Col([dbc.Label("Group by (param or tag)", className="small mb-0"),
                 dcc.Dropdown(id=ids.COMPARE_GROUP, options=[{"label": f"{k.kind}: {k.name}", "value": k.text}
                                                             for k in keys],
                              value=group.text if group in keys else None, placeholder="No grouping")], md=3),
        dbc.Col(dbc.Switch(id=ids.COMPARE_DIFF_ONLY, label="Differences only", value=query.get("diff") != "0"),
                md=3, className="d-flex align-items-end")], className="mb-3 g-3 compare-controls")


def _card(title: str, body: list, extra: list | None = None) -> dbc.Card:
    return dbc.Card(dbc.CardBody([html.Div([html.Div(title, className="card-title-sm"), *(extra or [])],
                                           className="d-flex justify-content-between align-items-center"),
                                  *body]), className="mb-3")


def _graph(graph_id: str, figure: object = None) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=figure or {}, config=GRAPH_CONFIG)


def _sections(runs: list[dict], metric: str | None, brush: dict, dims: list, align: str = "step") -> list:
    params = view.param_keys(runs)
    numeric = view.numeric_params(runs)
    figure = parcoords.parcoords_figure(runs, metric, brush, dims)
    return [
        _card("Parallel coordinates", [html.Div("Drag along an axis to narrow the runs below; click an axis "
                                                "outside its range to clear it.", className="small text-secondary"),
                                       _graph(ids.COMPARE_PARCOORDS, figure)]),
        html.Div(id=ids.COMPARE_SELECTION, className="small mb-2"),
        _card("Parameters", [_table_box(ids.COMPARE_PARAMS, ids.COMPARE_PARAMS_VIEW, ids.COMPARE_PARAMS_HTML)]),
        _card("Metric summaries", [_table_box(ids.COMPARE_METRICS, ids.COMPARE_METRICS_VIEW,
                                              ids.COMPARE_METRICS_HTML)]),
        _card("Metric curves", [html.Div(id=ids.COMPARE_CURVES_NOTE, className="small text-secondary"),
                                _graph(ids.COMPARE_CURVES)],
              [dbc.RadioItems(id=ids.COMPARE_ALIGN, value=align, inline=True, className="small",
                              options=[{"label": "by step", "value": "step"},
                                       {"label": "by time since start", "value": "time"}])]),
        dbc.Row([dbc.Col(_card("Parameter vs metric", [
                    dcc.Dropdown(id=ids.COMPARE_SCATTER_PARAM, options=params,
                                 value=(numeric or params or [None])[0], clearable=False, className="mb-2",
                                 placeholder="No parameters"), _graph(ids.COMPARE_SCATTER)]), lg=6),
                 dbc.Col(_card("Parameter importance", [_graph(ids.COMPARE_IMPORTANCE)]), lg=6)])]


def _table_box(box_id: str, view_id: str, html_id: str) -> html.Div:
    """A table's place: messages and group tables go in as components, the packed table as HTML (assets/compare.js)."""
    return html.Div([html.Div(id=view_id), html.Div(id=html_id, className="compare-packed d-none")], id=box_id)


def update_tables(handle: dict | None, brush: dict | None, diff_only: bool | None, baseline: str | None,
                  group: str | None = None) -> tuple:
    """Params and metric tables for the runs inside the parcoords brush; the baseline stays the reference.
    Grouped, the metric table is one row per group of the brushed runs with "mean ± std (n)" cells.
    Returns ({"params", "metrics"} packed for assets/compare.js, the brush label)."""
    runs = loaded_runs(handle)
    if not runs:
        gone = {"tree": view.empty_state(GONE)}
        return {"params": gone, "metrics": gone}, ""
    shown = parcoords.brushed(runs, brush)
    base = next((r for r in runs if r["id"] == baseline), None)
    label = "" if len(shown) == len(runs) else \
        dbc.Badge(f"Brushed: {len(shown)} of {len(runs)} runs shown", color="info", className="brush-badge")
    if not shown:
        empty = {"tree": view.empty_state("No run lies inside every brushed range; widen or clear a range on the "
                                          "chart.")}
        return {"params": empty, "metrics": empty}, label
    key = groups.parse_key(group)
    if len(shown) > MAX_TABLE_ROWS:
        label = html.Span([label, f" Tables list the first {MAX_TABLE_ROWS} of {len(shown)} runs"
                                  f"{'' if key else ' (group them, or brush the chart to narrow)'}."],
                          className="table-cap-note")
    rows = shown[:MAX_TABLE_ROWS]
    return {"params": view.params_table(rows, bool(diff_only)),
            "metrics": _metric_summaries(shown if key else rows, base, key)}, label


def _metric_summaries(shown: list[dict], base: dict | None, key: groups.GroupKey | None) -> dict:
    """The metric table packed (see components.compare.params_table), or the group table as a component."""
    if key is None:
        return view.metrics_table(shown, base)
    keys = view.metric_keys(shown)
    summaries = groups.summarize(groups.partition(shown, key), keys, view.AGGS)
    return {"tree": group_view.group_table(key.kind, key.name, summaries, keys)}


def search_baseline(search: str | None, handle: dict | None, chosen: str | None) -> list[dict]:
    """The baseline picker searches every run on the server once there are more than it lists."""
    wanted = handle.get("ids") if isinstance(handle, dict) else None
    if search is None or not isinstance(wanted, list) or len(wanted) <= BASELINE_OPTIONS:
        raise PreventUpdate
    return view.baseline_options(loaded_runs(handle), chosen, search, BASELINE_OPTIONS)


def update_brush(restyle: list | None, current: dict | None) -> dict:
    merged = parcoords.merge_constraints(current, restyle)
    if merged == (current or {}):
        raise PreventUpdate
    return merged


def update_curves(metric: str | None, handle: dict | None, group: str | None = None,
                  align: str | None = "step") -> tuple:
    """Overlaid curves (≤ 20 runs, each downsampled to ≤ 1000 buckets) aligned by step or by time since each
    run's start, or group means (by step) with a 95% CI band, and the importance bars."""
    runs = loaded_runs(handle)
    if not runs:
        raise PreventUpdate
    if not metric:
        return {}, "No metrics logged yet.", view.importance_figure([], None)
    importance = view.importance_figure(view.importance(runs, metric), metric)
    having = [r for r in runs if metric in r["metrics"]]
    key = groups.parse_key(group)
    if key is not None:
        return (*_group_curves(metric, having, key), importance)
    drawn = having[:view.MAX_CURVES]
    read, failed = _series(drawn, metric)
    series = [(view.run_label(run), data) for run, data in read]
    starts = [validation.timestamp_ms(run["start_time"], "start_time", None) for run, _ in read] \
        if align == "time" else None
    note = f"{len(drawn)} of {len(having)} runs with {metric} drawn (the first {view.MAX_CURVES} selected)." \
        if len(having) > len(drawn) else f"{len(drawn)} run{'s' if len(drawn) != 1 else ''} with {metric}."
    if failed:
        note += f" {failed} could not be read right now."
    return view.curves_figure(metric, series, starts=starts), note, importance


def _series(runs: list[dict], metric: str) -> tuple[list[tuple[dict, dict]], int]:
    """[(run, its downsampled series)] and how many could not be read right now."""
    out, failed = [], 0
    for run in runs:
        try:
            out.append((run, metrics.downsampled(core(), actor(), run["id"], metric, buckets=CURVE_BUCKETS)))
        except (NotFound, ServiceError):
            failed += 1
    return out, failed


def _group_curves(metric: str, having: list[dict], key: groups.GroupKey) -> tuple:
    """One mean line per group (runs aligned by step) with its t-based 95% CI band where n ≥ 2."""
    read, failed = _series(having[:MAX_GROUPED_RUNS], metric)
    by_id = {run["id"]: data for run, data in read}
    bands = []
    for value, members in groups.partition([run for run, _ in read], key).items():
        band = groups.mean_band([groups.bucket_points(by_id[r["id"]]) for r in members])
        bands.append((f"{group_view.group_label(key.name, value)} (n={len(members)})", band))
    note = f"{len(bands)} group{'s' if len(bands) != 1 else ''} by {key.kind} {key.name} over {len(read)} runs " \
           f"with {metric}: mean by step, shaded 95% CI (t) where at least two runs have the step."
    if len(having) > MAX_GROUPED_RUNS:
        note += f" The first {MAX_GROUPED_RUNS} of {len(having)} runs are used."
    if failed:
        note += f" {failed} could not be read right now."
    return group_view.group_curves_figure(metric, bands), note


def update_scatter(param: str | None, metric: str | None, handle: dict | None) -> object:
    runs = loaded_runs(handle)
    if not runs:
        raise PreventUpdate
    return view.scatter_figure(runs, param, metric)


def sync_url(baseline: str | None, metric: str | None, diff_only: bool | None, query: dict | None,
             group: str | None = None, brush: dict | None = None, axes: list | None = None,
             align: str | None = "step") -> str:
    """?runs (as asked) & baseline & metrics & diff=0 when all params are shown & group & brush (axis label ~
    ranges): a link reproduces the view."""
    key = groups.parse_key(group)
    pairs = [("runs", (query or {}).get("runs") or ""), ("baseline", baseline or ""), ("metrics", metric or ""),
             ("diff", "" if diff_only else "0"), ("group", key.text if key else ""),
             ("brush", parcoords.encode_brush(axes or [], brush)), ("align", "time" if align == "time" else "")]
    return "?" + urlencode([(k, v) for k, v in pairs if v], safe=":,~")


def compare_link(selected: list | dict | None) -> tuple[str, bool]:
    """The experiment page's "Compare selected" button: every selected run (no cap) in /compare?runs=…"""
    if isinstance(selected, dict):
        chosen = [i for i in selected.get("ids") or [] if isinstance(i, str)]
    else:
        chosen = [r["id"] for r in selected or [] if isinstance(r, dict) and isinstance(r.get("id"), str)]
    return ("/compare?runs=" + ",".join(chosen) if chosen else "/compare"), not chosen


def register(app: Dash) -> None:
    app.callback(Output(ids.COMPARE_CONTENT, "children"), Input(ids.COMPARE_QUERY, "data"))(load_compare)
    app.callback(Output(ids.COMPARE_TABLES, "data"), Output(ids.COMPARE_SELECTION, "children"),
                 Input(ids.COMPARE_DATA, "data"), Input(ids.COMPARE_BRUSH, "data"),
                 Input(ids.COMPARE_DIFF_ONLY, "value"), Input(ids.COMPARE_BASELINE, "value"),
                 Input(ids.COMPARE_GROUP, "value"))(update_tables)
    app.clientside_callback(ClientsideFunction("compare", "tables"), Output(ids.COMPARE_PARAMS_VIEW, "children"),
                            Output(ids.COMPARE_PARAMS_HTML, "className"), Output(ids.COMPARE_METRICS_VIEW, "children"),
                            Output(ids.COMPARE_METRICS_HTML, "className"), Input(ids.COMPARE_TABLES, "data"),
                            State(ids.COMPARE_PARAMS_HTML, "id"), State(ids.COMPARE_METRICS_HTML, "id"))
    app.callback(Output(ids.COMPARE_BASELINE, "options"), Input(ids.COMPARE_BASELINE, "search_value"),
                 State(ids.COMPARE_DATA, "data"), State(ids.COMPARE_BASELINE, "value"),
                 prevent_initial_call=True)(search_baseline)
    app.callback(Output(ids.COMPARE_BRUSH, "data"), Input(ids.COMPARE_PARCOORDS, "restyleData"),
                 State(ids.COMPARE_BRUSH, "data"), prevent_initial_call=True)(update_brush)
    app.callback(Output(ids.COMPARE_CURVES, "figure"), Output(ids.COMPARE_CURVES_NOTE, "children"),
                 Output(ids.COMPARE_IMPORTANCE, "figure"),
                 Input(ids.COMPARE_METRIC, "value"), Input(ids.COMPARE_DATA, "data"),
                 Input(ids.COMPARE_GROUP, "value"), Input(ids.COMPARE_ALIGN, "value"))(update_curves)
    app.callback(Output(ids.COMPARE_SCATTER, "figure"), Input(ids.COMPARE_SCATTER_PARAM, "value"),
                 Input(ids.COMPARE_METRIC, "value"), Input(ids.COMPARE_DATA, "data"))(update_scatter)
    app.callback(Output(ids.COMPARE_URL, "search"), Input(ids.COMPARE_BASELINE, "value"),
                 Input(ids.COMPARE_METRIC, "value"), Input(ids.COMPARE_DIFF_ONLY, "value"),
                 State(ids.COMPARE_QUERY, "data"), Input(ids.COMPARE_GROUP, "value"),
                 Input(ids.COMPARE_BRUSH, "data"), State(ids.COMPARE_AXES, "data"),
                 Input(ids.COMPARE_ALIGN, "value"), prevent_initial_call=True)(sync_url)
    app.callback(Output(ids.RUN_COMPARE, "href"), Output(ids.RUN_COMPARE, "disabled"),
                 Input(ids.RUN_GRID, "selectedRows"), prevent_initial_call=True)(compare_link)
