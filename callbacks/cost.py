"""Cost on the dashboard: the run page's usage & cost card and each team's totals and rates on /teams."""
from __future__ import annotations

import math

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import actor, core
from components import ids
from components import trends as view
from components.common import error_alert
from services import resources
from services.context import Actor
from services.errors import NotFound, ServiceError

RATE_LABELS = {"cpu_per_hour": "CPU $/hour", "gpu_per_hour": "GPU $/hour", "memory_per_gb_hour": "Memory $/GB-hour"}


def run_card(_version: int | None, run_id: str | None) -> object:
    """Redrawn whenever the run page's version signal moves (as the Safety panel is); hidden without figures."""
    if not run_id:
        raise PreventUpdate
    try:
        answer = resources.run_cost(core(), actor(), run_id)
    except NotFound:
        raise PreventUpdate from None
    except ServiceError as exc:
        return html.Div(exc.message, className="text-warning small")
    return view.run_cost_card(answer)


def team_section(who: Actor, team: str, manage: bool) -> html.Div:
    """A team card's usage & cost totals, and for admins the rates form."""
    try:
        cost = resources.team_cost(core(), who, team)
    except ServiceError as exc:
        return html.Div(exc.message, className="text-warning small")
    totals = view.totals_row(cost, prefix=f"team-{team}") if cost["runs"] and view.has_usage(cost["resources"]) \
        else html.P("No resource figures logged in this team's projects yet.", className="small text-secondary")
    body = [html.Div("Usage & cost", className="small fw-semibold mb-1"), totals, _by_project(cost["by_project"]),
            view.rates_line(cost["rates"])]
    if manage:
        body.append(_rates_form(team, cost["rates"]))
    return html.Div(body, id={"type": ids.TEAM_USAGE, "team": team}, className="team-usage border-top pt-2 mt-2")


def _by_project(by_project: list[dict]) -> html.P | None:
    """The team's projects with a cost, dearest first, each linked to its trends page."""
    costly = sorted((p for p in by_project if p["cost"]["total"]), key=lambda p: -p["cost"]["total"])
    if not costly:
        return None
    parts: list = ["By project: "]
    for i, project in enumerate(costly):
        parts += [", " if i else "", dcc.Link(project["name"], href=f"/projects/{project['id']}/trends"),
                  f" {view.money(project['cost']['total'])}"]
    return html.P(parts, className="small mb-1")


def _rates_form(team: str, rates: dict) -> html.Div:
    inputs = [dbc.InputGroup([dbc.InputGroupText(label), dbc.Input(
        id={"type": ids.TEAM_RATE, "team": team, "rate": name}, value=f"{rates[name]:g}", type="text",
        inputMode="decimal", size="sm", style={"maxWidth": "90px"})], size="sm", className="w-auto")
        for name, label in RATE_LABELS.items()]
    save = dbc.Button("Save rates", id={"type": ids.TEAM_RATES_SAVE, "team": team}, size="sm", color="primary")
    return html.Div([*inputs, save], className="d-flex flex-wrap gap-2 align-items-center")


def parse_rates(raw: dict[str, object]) -> dict[str, float]:
    """Form text → numbers; a message naming the field for anything that is not a number from 0 up."""
    checked = {}
    for name, label in RATE_LABELS.items():
        text = str(raw.get(name) if raw.get(name) is not None else "").strip()
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{label} must be a number (got {text[:30]!r}).") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{label} must be a number from 0 up.")
        checked[name] = number
    return checked


def save_rates(clicks: list, _values: list, refresh: int | None) -> tuple:
    """Dash entry point: one team's Save rates button; read that team's three inputs."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or []):
        raise PreventUpdate
    team = trigger["team"]
    raw = {s["id"]["rate"]: s.get("value") for s in ctx.states_list[0] if s["id"]["team"] == team}
    return change_rates(team, raw, refresh)


def change_rates(team: str, raw: dict[str, object], refresh: int | None) -> tuple:
    """Check every rate first; nothing is written unless all three are good."""
    try:
        rates = parse_rates(raw)
        resources.set_rates(core(), actor(), team, rates)
    except ValueError as exc:
        return error_alert(str(exc)), no_update
    except ServiceError as exc:
        return error_alert(exc.message), no_update
    return dbc.Alert(f"Rates of {team} saved.", color="success", className="py-2", duration=4000), (refresh or 0) + 1


def register(app: Dash) -> None:
    app.callback(Output(ids.RUN_COST, "children"), Input(ids.RUN_PANELS, "data"), State(ids.RUN_ID, "data"),
                 prevent_initial_call=True)(run_card)
    app.callback(Output(ids.TEAM_MESSAGE, "children", allow_duplicate=True),
                 Output(ids.TEAMS_REFRESH, "data", allow_duplicate=True),
                 Input({"type": ids.TEAM_RATES_SAVE, "team": ALL}, "n_clicks"),
                 State({"type": ids.TEAM_RATE, "team": ALL, "rate": ALL}, "value"), State(ids.TEAMS_REFRESH, "data"),
                 prevent_initial_call=True)(save_rates)
