"""Create-project and create-experiment dialogs."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids


def _field(label: str, control, help_text: str | None = None) -> html.Div:  # noqa: ANN001
    parts = [dbc.Label(label, html_for=getattr(control, "id", None)), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    return html.Div(parts, className="mb-3")


def new_project_modal() -> dbc.Modal:
    body = [_field("Name", dbc.Input(id=ids.NEW_PROJECT_NAME, placeholder="e.g. churn-model", maxLength=200)),
            _field("Team", dcc.Dropdown(id=ids.NEW_PROJECT_TEAM, clearable=False, placeholder="Choose a team")),
            _field("Description", dbc.Textarea(id=ids.NEW_PROJECT_DESCRIPTION, rows=2)),
            _field("Tags", dbc.Input(id=ids.NEW_PROJECT_TAGS, placeholder="healthcare, classification"),
                   "Comma separated."),
            html.Div(id=ids.NEW_PROJECT_ERROR)]
    return dbc.Modal([dbc.ModalHeader(dbc.ModalTitle("New project")), dbc.ModalBody(body),
                      dbc.ModalFooter([dbc.Button("Cancel", id=ids.NEW_PROJECT_CANCEL, color="light"),
                                       dbc.Button("Create project", id=ids.NEW_PROJECT_SUBMIT, color="primary")])],
                     id=ids.NEW_PROJECT_MODAL, is_open=False)


def template_options(templates: list[dict]) -> list[dict]:
    """Blank first, then each template as "name · domain" with its gates as the option's tooltip."""
    options = [{"label": "Blank experiment", "value": ""}]
    for t in templates:
        gates = ", ".join(f"{m} {c}" for m, c in (t.get("validation_criteria") or {}).items())
        options.append({"label": f"{t['name']} · {t.get('domain') or t.get('type') or 'custom'}", "value": t["id"],
                        "title": f"gates: {gates}" if gates else t.get("description") or ""})
    return options


def new_experiment_modal(templates: list[dict] | None = None) -> dbc.Modal:
    body = [_field("Template", dcc.Dropdown(id=ids.NEW_EXPERIMENT_TEMPLATE, options=template_options(templates or []),
                                            value="", clearable=False),
                   "A template sets the experiment's type, metrics, validation gates and hypothesis criterion."),
            _field("Name", dbc.Input(id=ids.NEW_EXPERIMENT_NAME, placeholder="e.g. baseline-v1", maxLength=200)),
            _field("Hypothesis", dbc.Textarea(id=ids.NEW_EXPERIMENT_HYPOTHESIS, rows=2,
                                              placeholder="What do you expect, and how will you know?")),
            _field("Description", dbc.Textarea(id=ids.NEW_EXPERIMENT_DESCRIPTION, rows=2)),
            _field("Tags", dbc.Input(id=ids.NEW_EXPERIMENT_TAGS, placeholder="baseline, sklearn"), "Comma separated."),
            html.Div(id=ids.NEW_EXPERIMENT_ERROR)]
    return dbc.Modal([dbc.ModalHeader(dbc.ModalTitle("New experiment")), dbc.ModalBody(body),
                      dbc.ModalFooter([dbc.Button("Cancel", id=ids.NEW_EXPERIMENT_CANCEL, color="light"),
                                       dbc.Button("Create experiment", id=ids.NEW_EXPERIMENT_SUBMIT,
                                                  color="primary")])],
                     id=ids.NEW_EXPERIMENT_MODAL, is_open=False)


def split_tags(raw: str | None) -> list[str]:
    return [t.strip() for t in (raw or "").split(",") if t.strip()]
