"""Run page: summary and metadata, live metric charts (server-side downsampling), notes and annotations."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components.charts import (ChartView, chart_options, make_view, metric_figure, parse_view, view_query)
from components.common import error_alert, not_found, page_header, status_badge
from components.run_detail import kv_card, metric_table, run_links
from components.url_state import parse_list
from services import experiments, metrics, notes, projects, runs, validation
from services.access import RANK
from services.errors import NotFound, ServiceError

REFRESH_MS = 2000
DEFAULT_CHARTS = 6
MAX_CHARTS = 24
BUCKETS = 500
SMOOTH_LABEL_JS = "function (v) { return v ? 'Smoothing ' + Number(v).toFixed(2) : 'Smoothing off'; }"


def scope(run_id: str) -> str:
    return f"run:{run_id}"


def load_run(run_id: str | None, query: dict | None) -> html.Div:
    """The whole page with its charts drawn (no follow-up round trip before the first chart); the charts
    callback only redraws on a change of metrics, chart options or the run's version."""
    who = actor()
    try:
        run = runs.get_run(core(), who, run_id or "")
        exp = experiments.get_experiment(core(), who, run["experiment_id"])
        project = projects.get_project(core(), who, exp["project_id"])
    except NotFound:
        return not_found("run")
    keys = sorted(run["metrics"])
    chosen = [k for k in parse_list((query or {}).get("metrics"), MAX_CHARTS) if k in keys] or keys[:DEFAULT_CHARTS]
    view = parse_view(query)
    start_ms = validation.timestamp_ms(run["start_time"], "start_time", None)  # origin of the relative-time axis
    charts, table, notes_view, version, _ = refresh_run(chosen, run["id"], None, view=view, start_ms=start_ms)
    can_write = RANK.get(project.get("role") or "", 0) >= RANK["editor"]
    header = page_header(run["name"], _subtitle(run), [], badges=_badges(run),
                         trail=[("Projects", "/projects"), (project["name"], f"/projects/{project['id']}"),
                                (exp["name"], f"/experiments/{exp['id']}"), (run["name"], None)])
    left = [html.Div(id=ids.RUN_SAFETY), html.Div(id=ids.RUN_COST),
            kv_card("Parameters", run["parameters"], "No parameters."),
            dbc.Card(dbc.CardBody([html.Div("Metrics", className="card-title-sm"),
                                   html.Div(table, id=ids.RUN_METRIC_TABLE)]), className="mb-3"),
            _relatives(run, exp["id"]),
            html.Div(kv_card("Tags", run["tags"], "No tags.", card_id=ids.TAG_VIEW), id=ids.RUN_TAGS),
            kv_card("Environment", _environment(run), "Not recorded.")]
    picker = dcc.Dropdown(id=ids.RUN_METRIC_KEYS, options=keys, value=chosen, multi=True,
                          placeholder="Choose metrics to chart", className="mb-2")
    right = [picker, chart_options(view), dcc.Store(id=ids.RUN_START_MS, data=start_ms),
             html.Div(charts, id=ids.RUN_CHARTS), html.Div(id=ids.RUN_ARTIFACTS),
             html.Div(id=ids.RUN_FEATURES),
             dbc.Card(dbc.CardBody([html.Div("Notes", className="card-title-sm"),
                                    html.Div(notes_view, id=ids.RUN_NOTES),
                                    *(_note_form(keys) if can_write else [])]), className="mt-3")]
    return html.Div([header, html.P(run["notes"], className="run-notes-text") if run["notes"] else None,
                     dbc.Row([dbc.Col([c for c in left if c is not None], lg=4), dbc.Col(right, lg=8)]),
                     dcc.Store(id=ids.RUN_SEEN, data=version), dcc.Store(id=ids.RUN_VERSION, data=version),
                     dcc.Store(id=ids.RUN_PANELS),
                     dcc.Interval(id=ids.RUN_TICK, interval=REFRESH_MS,
                                  disabled=not core().settings.enable_real_time_plots)])


def _chart_grid(charts: list, view: ChartView) -> dbc.Row:
    return dbc.Row([dbc.Col(c, md=12 // view.per_row, className="mb-3") for c in charts])


MLFLOW_SOURCE_TAGS = {"mlflow.source.name": "source", "mlflow.source.type": "source_type",
                      "mlflow.source.git.branch": "git_branch"}  # what the mlflow client records of the environment


def _environment(run: dict) -> dict:
    """The recorded environment, its git commit, and where the mlflow client says the run came from."""
    found = {name: run["tags"][tag] for tag, name in MLFLOW_SOURCE_TAGS.items() if run["tags"].get(tag)}
    return {**found, **run["environment"], **({"git_commit": run["git_commit"]} if run["git_commit"] else {})}


def _subtitle(run: dict) -> str:
    """by <user> · started … UTC · took … s · commit <first 8 of the git commit>"""
    parts = [f"by {run['user']}"] if run.get("user") else []
    parts.append(f"started {run['start_time'][:19].replace('T', ' ')} UTC")
    if run["duration_ms"] is not None:
        parts.append(f"took {run['duration_ms'] / 1000:.1f} s")
    if run["git_commit"]:
        parts.append(f"commit {run['git_commit'][:8]}")
    return " · ".join(parts)


def _badges(run: dict) -> list:
    badges = [status_badge(run["status"])]
    if run["locked"]:
        badges.append(dbc.Badge("locked", color="dark", className="status-badge"))
    return badges


def _relatives(run: dict, experiment_id: str) -> html.Div:
    parent = []
    if run["parent_run_id"]:
        try:
            parent = [runs.get_run(core(), actor(), run["parent_run_id"])]
        except NotFound:
            parent = []
    children = runs.list_runs(core(), actor(), experiment_id, parent_run_id=run["id"], limit=200).items \
        if run["child_run_ids"] else []
    return html.Div([run_links("Parent run", parent), run_links("Child runs", children)])


def _note_form(keys: list[str]) -> list:
    return [html.Hr(),
            dbc.Textarea(id=ids.NOTE_BODY, placeholder="Add a note (markdown)…", rows=2, className="mb-2"),
            html.Div([dcc.Dropdown(id=ids.NOTE_METRIC, options=keys, placeholder="Pin to a metric (optional)",
                                   className="flex-grow-1"),
                      dbc.Input(id=ids.NOTE_STEP, type="number", placeholder="step", style={"width": "110px"}),
                      dbc.Button("Add note", id=ids.NOTE_SUBMIT, color="primary", size="sm")],
                     className="d-flex gap-2 align-items-center"),
            html.Div(id=ids.NOTE_ERROR, className="mt-2")]


def notes_list(items: list[dict]) -> html.Div:
    if not items:
        return html.P("No notes yet.", className="text-secondary small mb-0")
    return html.Div([html.Div([html.Div([html.Span(n["author"] or "?", className="fw-semibold me-2"),
                                         html.Span(n["created_at"][:16].replace("T", " "),
                                                   className="text-secondary small"),
                                         html.Span(f" · {n['metric_key']} @ step {n['step']}",
                                                   className="text-secondary small") if n["metric_key"] else None]),
                               dcc.Markdown(n["body"], className="note-body")], className="mb-2")
                     for n in items])


def poll_version(_tick: int | None, run_id: str, known: int | None) -> int:
    """The tick's only work: one counter read. Redraws follow RUN_VERSION, so a tick never cancels a slow
    first render (a chart over a long, never-charted series) that is still on its way."""
    version = core().bus.version(scope(run_id))
    if version == known:
        raise PreventUpdate
    return version


def render(keys: list | None, x_axis: str | None, log_y: bool | None, smooth: float | None,
           per_row: str | None, _version: int | None, run_id: str, seen: int | None,
           start_ms: int | None) -> tuple:
    """Dash entry point: redraw when the metric choice, a chart option or the run's version changes."""
    return refresh_run(keys, run_id, seen, view=make_view(x_axis, log_y, smooth, per_row), start_ms=start_ms)


def refresh_run(keys: list | None, run_id: str, seen: int | None, only_if_moved: bool = False,
                view: ChartView | None = None, start_ms: int | None = None) -> tuple:
    """Charts, summary table, notes, the version they show and the address-bar query."""
    view = view or ChartView()
    version = core().bus.version(scope(run_id))
    if only_if_moved and version == seen:
        raise PreventUpdate
    who = actor()
    try:
        summary = metrics.summaries(core(), who, run_id)
        items = notes.list_notes(core(), who, run_id)
        charts = [_chart(run_id, key, items, view, start_ms) for key in (keys or [])[:MAX_CHARTS]]
    except NotFound:
        raise PreventUpdate from None
    default = sorted(s["key"] for s in summary)[:DEFAULT_CHARTS]
    query = ([] if list(keys or []) == default else [("metrics", ",".join(keys or []))]) + view_query(view)
    search = "?" + urlencode(query, safe=",") if query else ""
    grid = _chart_grid(charts, view) if charts \
        else html.P("Choose metrics above to chart them." if summary else "No metrics logged yet.",
                    className="text-secondary")
    return grid, metric_table(summary), notes_list(items), version, search


def _chart(run_id: str, key: str, items: list[dict], view: ChartView, start_ms: int | None) -> html.Div:
    try:
        series = metrics.downsampled(core(), actor(), run_id, key, buckets=BUCKETS)
    except NotFound:
        return html.Div(f"{key}: no data", className="text-secondary small")
    except ServiceError as exc:  # busy: too many charts being drawn at once
        return html.Div(f"{key}: {exc.message}", className="text-warning small")
    anchored = [n for n in items if n["metric_key"] == key]
    return dcc.Graph(figure=metric_figure(series, anchored, view, start_ms),
                     config={"displaylogo": False, "responsive": True},
                     className="metric-chart", id={"type": "metric-chart", "key": key})


def add_note(clicks: int | None, run_id: str, body: str | None, metric_key: str | None,
             step: float | None) -> tuple:
    if not clicks:
        raise PreventUpdate
    try:
        notes.add_note(core(), actor(), run_id, body or "", metric_key or None,
                       int(step) if step is not None and metric_key else None)
    except ServiceError as exc:
        return error_alert(exc.message), no_update, no_update
    return None, "", notes_list(notes.list_notes(core(), actor(), run_id))


def register(app: Dash) -> None:
    app.callback(Output(ids.RUN_CHARTS, "children"), Output(ids.RUN_METRIC_TABLE, "children"),
                 Output(ids.RUN_NOTES, "children"), Output(ids.RUN_SEEN, "data"), Output(ids.RUN_URL, "search"),
                 Input(ids.RUN_METRIC_KEYS, "value"), Input(ids.RUN_X_AXIS, "value"), Input(ids.RUN_LOG_Y, "value"),
                 Input(ids.RUN_SMOOTH, "value"), Input(ids.RUN_PER_ROW, "value"), Input(ids.RUN_VERSION, "data"),
                 State(ids.RUN_ID, "data"), State(ids.RUN_SEEN, "data"), State(ids.RUN_START_MS, "data"),
                 prevent_initial_call=True)(render)  # the page came with its charts
    app.clientside_callback(ClientsideFunction("et", "afterCharts"), Output(ids.RUN_PANELS, "data"),
                            Input(ids.RUN_SEEN, "data"))  # side panels load after the charts, not against them
    app.clientside_callback(SMOOTH_LABEL_JS, Output(ids.RUN_SMOOTH_LABEL, "children"),
                            Input(ids.RUN_SMOOTH, "drag_value"), prevent_initial_call=True)
    app.callback(Output(ids.RUN_VERSION, "data"), Input(ids.RUN_TICK, "n_intervals"),
                 State(ids.RUN_ID, "data"), State(ids.RUN_VERSION, "data"),
                 prevent_initial_call=True)(poll_version)  # the page came with the current version
    app.callback(Output(ids.NOTE_ERROR, "children"), Output(ids.NOTE_BODY, "value"),
                 Output(ids.RUN_NOTES, "children", allow_duplicate=True),
                 Input(ids.NOTE_SUBMIT, "n_clicks"), State(ids.RUN_ID, "data"), State(ids.NOTE_BODY, "value"),
                 State(ids.NOTE_METRIC, "value"), State(ids.NOTE_STEP, "value"),
                 prevent_initial_call=True)(add_note)
