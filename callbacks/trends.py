"""Trends pages: a project's best metric per experiment, outcomes, durations, cost; an experiment's runs over time."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components import trends as view
from components.common import not_found, page_header
from services import experiments, projects, resources, trends
from services.comparison import default_mode
from services.errors import NotFound, ServiceError

MODE_OPTIONS = [{"label": "higher is better", "value": "max"}, {"label": "lower is better", "value": "min"}]
SUMMARY_OPTIONS = [{"label": "last value", "value": "last"}, {"label": "best value", "value": "best"}]
RUNS_EMPTY = ("No run of this experiment has logged {metric} yet: log it from training code "
              "(POST /api/v1/runs/<run_id>/metrics) and every run appears here at its start time.")
NO_RUN_METRICS = "No metrics logged in this experiment yet: log metrics from your runs to chart them over time."


def pick_metric(keys: list[str], asked: str | None) -> str | None:
    """The asked metric when it exists, else the first that is not a system metric, else the first."""
    if asked in keys:
        return asked
    return next((k for k in keys if not k.startswith("system/")), keys[0] if keys else None)


def pick_mode(metric: str | None, asked: str | None) -> str:
    return asked if asked in trends.MODES else default_mode(metric or "")


def _controls(metric_id: str, mode_id: str, keys: list[str], metric: str | None, mode: str,
              extra: list | None = None) -> dbc.Row:
    return dbc.Row([
        dbc.Col([dbc.Label("Metric", className="small mb-0"),
                 dcc.Dropdown(id=metric_id, options=keys, value=metric, clearable=False,
                              placeholder="No metrics logged yet")], md=5),
        dbc.Col([dbc.Label("Best is", className="small mb-0"),
                 dbc.RadioItems(id=mode_id, options=MODE_OPTIONS, value=mode, inline=True)], md=4),
        *(extra or [])], className="mb-3 g-3 align-items-end trends-controls")


# ---------------------------------------------------------------- project trends


def load_project(project_id: str | None, query: dict | None) -> html.Div:
    """The whole page for ?metric=…&mode=…; the best-metric chart follows the controls."""
    who, query = actor(), query or {}
    try:
        project = projects.get_project(core(), who, project_id or "")
        keys = trends.project_metric_keys(core(), who, project["id"])
        outcomes = trends.outcomes(core(), who, project["id"])
        durations = trends.durations(core(), who, project["id"])
        cost = resources.project_cost(core(), who, project["id"])
    except NotFound:
        return not_found("project")
    metric = pick_metric(keys, query.get("metric"))
    header = page_header(f"{project['name']} · trends", "Best results per experiment, run outcomes, durations and "
                         "cost over time.", trail=[("Projects", "/projects"),
                                                   (project["name"], f"/projects/{project['id']}"), ("Trends", None)])
    best = view.card("Best value per experiment", [html.Div(id=ids.TRENDS_BEST_GRAPH)],
                     [html.Span("one point per experiment · click a point to open it",
                                className="small text-secondary")])
    outcome_body = view.graph(ids.TRENDS_OUTCOMES_GRAPH, view.outcomes_figure(outcomes), tools=False) \
        if outcomes["buckets"] else view.empty(view.OUTCOMES_EMPTY, "trends-outcomes-empty")
    duration_body = view.graph(ids.TRENDS_DURATIONS_GRAPH, view.durations_figure(durations), tools=False) \
        if durations else view.empty(view.DURATIONS_EMPTY, "trends-durations-empty")
    return html.Div([header, _controls(ids.TRENDS_METRIC, ids.TRENDS_MODE, keys, metric,
                                       pick_mode(metric, query.get("mode"))), best,
                     dbc.Row([dbc.Col(view.card(f"Run outcomes per {outcomes['unit']}", [outcome_body]), lg=6),
                              dbc.Col(view.card("Run durations per experiment", [duration_body]), lg=6)]),
                     html.Div(view.usage_card(cost, view.experiment_usage_table(cost["by_experiment"])),
                              id=ids.TRENDS_USAGE)])


def project_best(metric: str | None, mode: str | None, project_id: str | None) -> object:
    if not project_id:
        raise PreventUpdate
    if not metric:
        return view.empty(view.NO_METRICS, "trends-best-empty")
    try:
        best = trends.best_per_experiment(core(), actor(), project_id, metric, mode)
    except NotFound:
        raise PreventUpdate from None
    except ServiceError as exc:
        return view.empty(exc.message)
    if not best["points"]:
        return view.empty(view.BEST_EMPTY.format(metric=metric), "trends-best-empty")
    return view.graph(ids.TRENDS_BEST_CHART, view.best_figure(best), height=340)


def project_url(metric: str | None, mode: str | None) -> str:
    """?metric=…&mode=…: a copied link opens the same chart."""
    query = urlencode([(k, v) for k, v in (("metric", metric), ("mode", mode)) if v], safe=":/")
    return f"?{query}" if query else ""


# ---------------------------------------------------------------- experiment trends


def load_experiment(experiment_id: str | None, query: dict | None) -> html.Div:
    """The page for ?metric=…&value=last|best&mode=…; the runs chart follows the controls."""
    who, query = actor(), query or {}
    try:
        exp = experiments.get_experiment(core(), who, experiment_id or "")
        project = projects.get_project(core(), who, exp["project_id"])
        keys = trends.experiment_metric_keys(core(), who, exp["id"])
        runs = trends.experiment_runs(core(), who, exp["id"], None)["runs"]
        cost = resources.experiment_cost(core(), who, exp["id"])
        costliest = trends.costliest_runs(core(), who, exp["id"])
    except NotFound:
        return not_found("experiment")
    metric = pick_metric(keys, query.get("metric"))
    summary = query.get("value") if query.get("value") in trends.SUMMARIES else "last"
    header = page_header(f"{exp['name']} · trends", "Each run's result against its start time, durations and cost.",
                         trail=[("Projects", "/projects"), (project["name"], f"/projects/{project['id']}"),
                                (exp["name"], f"/experiments/{exp['id']}"), ("Trends", None)],
                         actions=[dbc.Button("Project trends", href=f"/projects/{project['id']}/trends",
                                             color="light", size="sm", className="border")])
    toggle = dbc.Col([dbc.Label("Value per run", className="small mb-0"),
                      dbc.RadioItems(id=ids.EXP_TRENDS_SUMMARY, options=SUMMARY_OPTIONS, value=summary,
                                     inline=True)], md=3)
    durations = view.graph(ids.EXP_TRENDS_DURATIONS_GRAPH, view.run_durations_figure(runs), height=300,
                           tools=False) \
        if any(r["seconds"] is not None for r in runs) else view.empty(view.DURATIONS_EMPTY)
    detail = html.Div([html.Div("Most expensive runs", className="small fw-semibold mt-2 mb-1"),
                       view.costliest_table(costliest)]) if costliest else None
    return html.Div([header, _controls(ids.EXP_TRENDS_METRIC, ids.EXP_TRENDS_MODE, keys, metric,
                                       pick_mode(metric, query.get("mode")), [toggle]),
                     view.card("Runs over time", [html.Div(id=ids.EXP_TRENDS_RUNS_GRAPH)],
                               [html.Span("coloured by status · click a run to open it",
                                          className="small text-secondary")]),
                     dbc.Row([dbc.Col(view.card("Run durations", [durations]), lg=6),
                              dbc.Col(html.Div(view.usage_card(cost, detail), id=ids.EXP_TRENDS_USAGE), lg=6)])])


def experiment_runs(metric: str | None, summary: str | None, mode: str | None,
                    experiment_id: str | None) -> object:
    if not experiment_id:
        raise PreventUpdate
    if not metric:
        return view.empty(NO_RUN_METRICS, "exp-trends-empty")
    try:
        answer = trends.experiment_runs(core(), actor(), experiment_id, metric, summary or "last", mode)
    except NotFound:
        raise PreventUpdate from None
    except ServiceError as exc:
        return view.empty(exc.message)
    if all(r["value"] is None for r in answer["runs"]):
        return view.empty(RUNS_EMPTY.format(metric=metric), "exp-trends-empty")
    return view.graph(ids.EXP_TRENDS_RUNS_CHART, view.runs_figure(answer), height=360)


def experiment_url(metric: str | None, summary: str | None, mode: str | None) -> str:
    pairs = (("metric", metric), ("value", summary if summary == "best" else None), ("mode", mode))
    query = urlencode([(k, v) for k, v in pairs if v], safe=":/")
    return f"?{query}" if query else ""


# ---------------------------------------------------------------- shared


def follow_mode(metric: str | None) -> str:
    """A newly picked metric gets its usual direction (lower is better for losses and errors)."""
    if not metric:
        raise PreventUpdate
    return default_mode(metric)


def open_point(click: dict | None, prefix: str) -> str:
    """A click on a point with an id (experiment or run) opens its page."""
    point = ((click or {}).get("points") or [{}])[0]
    target = point.get("customdata")
    if isinstance(target, list):
        target = target[0] if target else None
    if not isinstance(target, str) or not target:
        raise PreventUpdate
    return f"{prefix}/{target}"


def open_experiment(click: dict | None) -> str:
    return open_point(click, "/experiments")


def open_run(click: dict | None) -> str:
    return open_point(click, "/runs")


def register(app: Dash) -> None:
    app.callback(Output(ids.TRENDS_CONTENT, "children"), Input(ids.TRENDS_PROJECT_ID, "data"),
                 State(ids.TRENDS_QUERY, "data"))(load_project)
    app.callback(Output(ids.TRENDS_BEST_GRAPH, "children"), Input(ids.TRENDS_METRIC, "value"),
                 Input(ids.TRENDS_MODE, "value"), State(ids.TRENDS_PROJECT_ID, "data"))(project_best)
    app.callback(Output(ids.TRENDS_MODE, "value"), Input(ids.TRENDS_METRIC, "value"),
                 prevent_initial_call=True)(follow_mode)
    app.callback(Output(ids.TRENDS_URL, "search"), Input(ids.TRENDS_METRIC, "value"),
                 Input(ids.TRENDS_MODE, "value"), prevent_initial_call=True)(project_url)
    app.callback(Output(ids.NAV_LOCATION, "href", allow_duplicate=True), Input(ids.TRENDS_BEST_CHART, "clickData"),
                 prevent_initial_call=True)(open_experiment)
    app.callback(Output(ids.EXP_TRENDS_CONTENT, "children"), Input(ids.EXP_TRENDS_ID, "data"),
                 State(ids.EXP_TRENDS_QUERY, "data"))(load_experiment)
    app.callback(Output(ids.EXP_TRENDS_RUNS_GRAPH, "children"), Input(ids.EXP_TRENDS_METRIC, "value"),
                 Input(ids.EXP_TRENDS_SUMMARY, "value"), Input(ids.EXP_TRENDS_MODE, "value"),
                 State(ids.EXP_TRENDS_ID, "data"))(experiment_runs)
    app.callback(Output(ids.EXP_TRENDS_MODE, "value"), Input(ids.EXP_TRENDS_METRIC, "value"),
                 prevent_initial_call=True)(follow_mode)
    app.callback(Output(ids.EXP_TRENDS_URL, "search"), Input(ids.EXP_TRENDS_METRIC, "value"),
                 Input(ids.EXP_TRENDS_SUMMARY, "value"), Input(ids.EXP_TRENDS_MODE, "value"),
                 prevent_initial_call=True)(experiment_url)
    app.callback(Output(ids.NAV_LOCATION, "href", allow_duplicate=True),
                 Input(ids.EXP_TRENDS_RUNS_CHART, "clickData"), prevent_initial_call=True)(open_run)
