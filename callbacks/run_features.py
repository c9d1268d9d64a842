"""Run page: the feature-usage card (log_feature_usage's feature sets and importance), redrawn with the run."""
from __future__ import annotations

from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components.features import feature_card
from services import feature_usage
from services.errors import NotFound


def features(_version: int | None, run_id: str | None) -> object:
    if not run_id:
        raise PreventUpdate
    try:
        return feature_card(feature_usage.feature_usage(core(), actor(), run_id))
    except NotFound:
        raise PreventUpdate from None


def register(app: Dash) -> None:
    app.callback(Output(ids.RUN_FEATURES, "children"), Input(ids.RUN_SEEN, "data"),
                 State(ids.RUN_ID, "data"))(features)
