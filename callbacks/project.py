"""Project page: header, best-metric picker and experiments table (or not found), creating an experiment,
comparing the selected experiments."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components.common import error_alert, not_found, page_header
from components.forms import new_experiment_modal, split_tags
from components.grids import experiment_column_defs, experiment_rows, experiments_grid
from components.project_settings import settings_modal
from components.url_state import selected_ids
from services import comparison, experiments, project_overview, projects, templates
from services.comparison import default_mode
from services.access import RANK
from services.errors import NotFound, ServiceError


def project_header(project: dict, can_write: bool) -> html.Div:
    """Name, description and tags (rebuilt after the settings are saved), Trends, Settings and New experiment."""
    actions = [dbc.Button("Trends & cost", href=f"/projects/{project['id']}/trends", color="light", size="sm",
                          className="border", id=ids.PROJECT_TRENDS_LINK)]
    if can_write:
        actions += [dbc.Button("Settings", id=ids.PROJECT_SETTINGS_OPEN, color="light", size="sm", className="border"),
                    dbc.Button("New experiment", id=ids.PROJECT_NEW_EXPERIMENT, color="primary", size="sm")]
    meta = [dbc.Badge(project["team"] or "", color="light", text_color="dark", className="border")]
    meta += [dbc.Badge(tag, color="info", className="tag-badge") for tag in project["tags"]]
    return page_header(project["name"], project["description"] or None, actions,
                       trail=[("Projects", "/projects"), (project["name"], None)], badges=meta)


def _toolbar(overview: dict) -> html.Div:
    """Best-of picker (metric and direction) on the left; selection, metrics to compare and Compare on the right."""
    keys = overview["keys"]
    picker = [html.Span("Best", className="small text-secondary me-2"),
              dcc.Dropdown(id=ids.PROJECT_METRIC, options=keys, value=overview["metric"], clearable=False,
                           placeholder="no metrics yet", style={"width": "14rem"}, className="me-2"),
              dbc.RadioItems(id=ids.PROJECT_MODE, value=overview["mode"] or "max", inline=True, className="small",
                             options=[{"label": "max", "value": "max"}, {"label": "min", "value": "min"}])]
    compare = [html.Span(id=ids.PROJECT_SELECTION, className="small text-secondary me-3"),
               html.Span("Compare on", className="small text-secondary me-2"),
               dcc.Dropdown(id=ids.PROJECT_COMPARE_METRICS, options=keys, multi=True, placeholder="metrics",
                            value=[overview["metric"]] if overview["metric"] else [], style={"minWidth": "14rem"},
                            className="me-2"),
               dbc.Button("Compare experiments", id=ids.PROJECT_COMPARE, color="primary", size="sm", disabled=True,
                          title="Select two or more experiments in the table")]
    return html.Div([html.Div(picker, className="d-flex align-items-center"),
                     html.Div(compare, className="d-flex align-items-center ms-auto")],
                    className="d-flex align-items-center flex-wrap gap-2 mb-2 project-toolbar")


def load_project(project_id: str | None, query: dict | None = None) -> html.Div:
    """Header, counts, best-metric picker, experiments grid; the metric and mode come from the URL."""
    who, query = actor(), query or {}
    try:
        project = projects.get_project(core(), who, project_id or "")
        page = experiments.list_experiments(core(), who, project_id=project_id, limit=1000)
        overview = project_overview.best_by_experiment(core(), who, project["id"], query.get("metric"),
                                                       query.get("mode"))
    except NotFound:
        return not_found("project")
    can_write = RANK.get(project.get("role") or "", 0) >= RANK["editor"]
    count = f"{project['experiment_count']} experiments · {project['run_count']} runs"
    if page.items:
        rows = experiment_rows(page.items, overview["best"])
        body = [_toolbar(overview), experiments_grid(rows, overview["metric"], overview["mode"]),
                html.Div(id=ids.PROJECT_COMPARE_ERROR, className="mt-2")]
    else:
        hint = " Create the first one with New experiment." if can_write else ""
        body = [html.P("No experiments yet." + hint, className="text-secondary", id="no-experiments")]
    # the dialog's callbacks need all of its parts on the page; its picker offers the templates library
    dialogs = [new_experiment_modal(templates.list_templates(core(), who)), _settings(project)] if can_write else []
    return html.Div([html.Div(project_header(project, can_write), id=ids.PROJECT_HEADER),
                     html.Div(count, className="text-secondary small mb-2", id="project-counts"), *body, *dialogs])


def _settings(project: dict) -> dbc.Modal:
    can_share = project.get("role") == "admin"
    return settings_modal(project, projects.list_shares(core(), actor(), project["id"]), can_share)


def change_metric(metric: str | None, mode: str | None, project_id: str) -> tuple:
    """A new metric takes its default direction; the grid's best column, the URL and the compare metrics follow."""
    if not metric:
        raise PreventUpdate
    if ctx.triggered_id == ids.PROJECT_METRIC:
        mode = default_mode(metric)
    try:
        best = project_overview.best_value(core(), actor(), project_id, metric, mode or default_mode(metric))
    except ServiceError as exc:
        return no_update, no_update, no_update, no_update, no_update, error_alert(exc.message)
    rows = experiment_rows(experiments.list_experiments(core(), actor(), project_id=project_id, limit=1000).items,
                           best)
    search = "?" + urlencode({"metric": metric, "mode": mode})
    return rows, experiment_column_defs(metric, mode), mode, search, [metric], None


def selection_changed(selected: list | dict | None) -> tuple[bool, str]:
    chosen = selected_ids(selected)
    if not chosen:
        return True, ""
    return len(chosen) < 2, f"{len(chosen)} selected" + ("" if len(chosen) >= 2 else " · pick one more")


def compare_experiments(clicks: int | None, selected: list | dict | None, chosen_metrics: list | None,
                        metric: str | None, mode: str | None) -> tuple:
    """Stored comparison of the selected experiments on the picked metrics, then its visualization page."""
    if not clicks:
        raise PreventUpdate
    experiment_ids = selected_ids(selected)
    keys = [k for k in chosen_metrics or [] if isinstance(k, str)]
    if len(experiment_ids) < 2:
        return error_alert("Select at least two experiments to compare."), no_update
    if not keys:
        return error_alert("Pick at least one metric to compare on."), no_update
    modes = {metric: mode} if metric in keys and mode in ("max", "min") else None
    try:
        result = comparison.compare(core(), actor(), experiment_ids, keys, mode=modes)
    except ServiceError as exc:
        return error_alert(exc.message), no_update
    return None, f"/visualizations/{result['comparison_id']}"


def toggle_new_experiment(_open: int | None, _cancel: int | None) -> bool:
    return ctx.triggered_id == ids.PROJECT_NEW_EXPERIMENT and bool(_open)


def create_experiment(clicks: int | None, project_id: str, name: str | None, hypothesis: str | None,
                      description: str | None, tags: str | None, template_id: str | None = None) -> tuple:
    """A blank experiment, or one made from the chosen template (its metrics, gates and hypothesis criterion)."""
    if not clicks:
        raise PreventUpdate
    if not (name or "").strip():
        return error_alert("Give the experiment a name."), no_update, no_update
    try:
        fields = ((name or "").strip(), description or "", hypothesis or "", split_tags(tags))
        created = templates.create_from_template(core(), actor(), project_id, template_id, *fields) if template_id \
            else experiments.create_experiment(core(), actor(), project_id, *fields)
    except ServiceError as exc:
        return error_alert(exc.message), no_update, no_update
    return None, False, f"/experiments/{created['id']}"


def register(app: Dash) -> None:
    app.callback(Output(ids.PROJECT_CONTENT, "children"), Input(ids.PROJECT_ID, "data"),
                 State(ids.PROJECT_QUERY, "data"))(load_project)
    app.callback(Output(ids.PROJECT_GRID, "rowData"), Output(ids.PROJECT_GRID, "columnDefs"),
                 Output(ids.PROJECT_MODE, "value"), Output(ids.PROJECT_URL, "search"),
                 Output(ids.PROJECT_COMPARE_METRICS, "value"), Output(ids.PROJECT_COMPARE_ERROR, "children"),
                 Input(ids.PROJECT_METRIC, "value"), Input(ids.PROJECT_MODE, "value"), State(ids.PROJECT_ID, "data"),
                 prevent_initial_call=True)(change_metric)
    app.callback(Output(ids.PROJECT_COMPARE, "disabled"), Output(ids.PROJECT_SELECTION, "children"),
                 Input(ids.PROJECT_GRID, "selectedRows"), prevent_initial_call=True)(selection_changed)
    app.callback(Output(ids.PROJECT_COMPARE_ERROR, "children", allow_duplicate=True),
                 Output(ids.NAV_LOCATION, "href", allow_duplicate=True), Input(ids.PROJECT_COMPARE, "n_clicks"),
                 State(ids.PROJECT_GRID, "selectedRows"), State(ids.PROJECT_COMPARE_METRICS, "value"),
                 State(ids.PROJECT_METRIC, "value"), State(ids.PROJECT_MODE, "value"),
                 prevent_initial_call=True)(compare_experiments)
    app.callback(Output(ids.NEW_EXPERIMENT_MODAL, "is_open"), Input(ids.PROJECT_NEW_EXPERIMENT, "n_clicks"),
                 Input(ids.NEW_EXPERIMENT_CANCEL, "n_clicks"), prevent_initial_call=True)(toggle_new_experiment)
    app.callback(Output(ids.NEW_EXPERIMENT_ERROR, "children"),
                 Output(ids.NEW_EXPERIMENT_MODAL, "is_open", allow_duplicate=True),
                 Output(ids.NAV_LOCATION, "href", allow_duplicate=True),
                 Input(ids.NEW_EXPERIMENT_SUBMIT, "n_clicks"), State(ids.PROJECT_ID, "data"),
                 State(ids.NEW_EXPERIMENT_NAME, "value"), State(ids.NEW_EXPERIMENT_HYPOTHESIS, "value"),
                 State(ids.NEW_EXPERIMENT_DESCRIPTION, "value"), State(ids.NEW_EXPERIMENT_TAGS, "value"),
                 State(ids.NEW_EXPERIMENT_TEMPLATE, "value"), prevent_initial_call=True)(create_experiment)
