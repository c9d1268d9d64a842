"""Project page: header and experiments table (or not found), creating an experiment."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components.common import error_alert, not_found, page_header
from components.forms import new_experiment_modal, split_tags
from components.grids import experiments_grid
from services import experiments, projects, templates
from services.access import RANK
from services.errors import NotFound, ServiceError


def load_project(project_id: str | None) -> html.Div:
    who = actor()
    try:
        project = projects.get_project(core(), who, project_id or "")
        page = experiments.list_experiments(core(), who, project_id=project_id, limit=1000)
    except NotFound:
        return not_found("project")
    can_write = RANK.get(project.get("role") or "", 0) >= RANK["editor"]
    actions = [dbc.Button("New experiment", id=ids.PROJECT_NEW_EXPERIMENT, color="primary", size="sm")] \
        if can_write else []
    meta = [dbc.Badge(project["team"] or "", color="light", text_color="dark", className="border")]
    meta += [dbc.Badge(tag, color="info", className="tag-badge") for tag in project["tags"]]
    header = page_header(project["name"], project["description"] or None, actions,
                         trail=[("Projects", "/projects"), (project["name"], None)], badges=meta)
    count = f"{project['experiment_count']} experiments · {project['run_count']} runs"
    if page.items:
        body = experiments_grid(page.items)
    else:
        hint = " Create the first one with New experiment." if can_write else ""
        body = html.P("No experiments yet." + hint, className="text-secondary", id="no-experiments")
    # the dialog's callbacks need all of its parts on the page; its picker offers the templates library
    dialog = [new_experiment_modal(templates.list_templates(core(), who))] if can_write else []
    return html.Div([header, html.Div(count, className="text-secondary small mb-2", id="project-counts"), body,
                     *dialog])


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
    app.callback(Output(ids.PROJECT_CONTENT, "children"), Input(ids.PROJECT_ID, "data"))(load_project)
    app.callback(Output(ids.NEW_EXPERIMENT_MODAL, "is_open"), Input(ids.PROJECT_NEW_EXPERIMENT, "n_clicks"),
                 Input(ids.NEW_EXPERIMENT_CANCEL, "n_clicks"), prevent_initial_call=True)(toggle_new_experiment)
    app.callback(Output(ids.NEW_EXPERIMENT_ERROR, "children"),
                 Output(ids.NEW_EXPERIMENT_MODAL, "is_open", allow_duplicate=True),
                 Output(ids.NAV_LOCATION, "href", allow_duplicate=True),
                 Input(ids.NEW_EXPERIMENT_SUBMIT, "n_clicks"), State(ids.PROJECT_ID, "data"),
                 State(ids.NEW_EXPERIMENT_NAME, "value"), State(ids.NEW_EXPERIMENT_HYPOTHESIS, "value"),
                 State(ids.NEW_EXPERIMENT_DESCRIPTION, "value"), State(ids.NEW_EXPERIMENT_TAGS, "value"),
                 State(ids.NEW_EXPERIMENT_TEMPLATE, "value"), prevent_initial_call=True)(create_experiment)
