"""Run page: the feature-usage card (log_feature_usage's feature sets and importance), redrawn with the run."""
from __future__ import annotations

import json
from typing import Any

from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components.features import feature_card
from services import feature_usage
from services.errors import NotFound


def features(_version: int | None, run_id: str | None, current: Any = None) -> object:
    """Redrawn when the run's version moves, but the record is re-read only when its fingerprint changed (the
    version moves with every metric batch of a live run)."""
    if not run_id:
        raise PreventUpdate
    try:
        mark = feature_usage.fingerprint(core(), actor(), run_id)
        if (mark is None and not current) or (mark and mark in json.dumps(current or "")):
            raise PreventUpdate
        return feature_card(feature_usage.feature_usage(core(), actor(), run_id))
    except NotFound:
        raise PreventUpdate from None


def register(app: Dash) -> None:
    app.callback(Output(ids.RUN_FEATURES, "children"), Input(ids.RUN_PANELS, "data"),
                 State(ids.RUN_ID, "data"), State(ids.RUN_FEATURES, "children"), prevent_initial_call=True)(features)
