"""Safety gates on the dashboard: the run page's Safety panel and the experiment page's summary card."""
from __future__ import annotations

from dash import Dash, Input, Output, State, html
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components.safety import experiment_summary, safety_panel
from services import run_gates, safety
from services.errors import NotFound, ServiceError


def run_panel(_version: int | None, run_id: str | None) -> object:
    """Redrawn whenever the run page's version signal moves (RUN_PANELS: RUN_SEEN once the charts are drawn)."""
    if not run_id:
        raise PreventUpdate
    who = actor()
    try:
        gate = run_gates.run_gates(core(), who, run_id)
        data = safety.run_safety(core(), who, run_id)
    except NotFound:
        raise PreventUpdate from None
    except ServiceError as exc:
        return html.Div(exc.message, className="text-warning small")
    return safety_panel(data, gate)


def experiment_card(_version: int | None, experiment_id: str | None) -> object:
    """Gate counts, hypothesis verdict and safety distribution; redrawn when the experiment's version moves
    (computed once per version: services.safety.experiment_card)."""
    if not experiment_id:
        raise PreventUpdate
    who = actor()
    try:
        card = safety.experiment_card(core(), who, experiment_id)
    except NotFound:
        raise PreventUpdate from None
    except ServiceError as exc:
        return html.Div(exc.message, className="text-warning small")
    return experiment_summary(card["dashboard"], card["safety"])


def register(app: Dash) -> None:
    app.callback(Output(ids.RUN_SAFETY, "children"), Input(ids.RUN_PANELS, "data"),
                 State(ids.RUN_ID, "data"), prevent_initial_call=True)(run_panel)
    app.callback(Output(ids.EXP_SUMMARY, "children"), Input(ids.EXP_SEEN, "data"),
                 State(ids.EXP_ID, "data"))(experiment_card)
