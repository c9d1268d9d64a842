"""/experiments/<experiment_id>: the run table (infinite scroll; sort, filter and selection kept in the URL).

The content is built in the same request as the page (Dash pages call this layout from their routing callback),
so the grid mounts one round trip sooner than if a callback filled it in afterwards."""
from __future__ import annotations

import dash
from dash import dcc, html

from callbacks.common import initial_content
from callbacks.experiment import load_experiment
from components import ids

dash.register_page(__name__, path_template="/experiments/<experiment_id>",
                   title="Experiment · Experiment Tracking 2.0")


def layout(experiment_id: str | None = None, **query: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.EXP_ID, data=experiment_id),
                     dcc.Location(id=ids.EXP_URL, refresh=False),
                     html.Div(initial_content(load_experiment, experiment_id, dict(query)), id=ids.EXP_CONTENT)])
