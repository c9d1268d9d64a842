"""Dash callbacks, attached to an app by register_all(app) (never module-level @callback)."""
from __future__ import annotations

import dash

from callbacks import (compare, cost, experiment, navbar, project, project_settings, projects, run, run_artifacts,
                       run_columns, run_features, run_tags, safety, teams, tokens, trends, visualization)


def register_all(app: dash.Dash) -> None:
    """Attach every page's callbacks to this app."""
    for module in (navbar, projects, project, project_settings, experiment, run_columns, run, safety, tokens, teams,
                   compare, visualization, run_artifacts, run_features, run_tags, trends, cost):
        module.register(app)
