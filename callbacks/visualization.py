"""Stored experiment comparison page: significance per metric, best experiment, each run's value per metric."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from callbacks.common import actor, core
from components import ids
from components.common import not_found, page_header
from components.significance import group_summary, significance_table, values_figure
from services import comparison
from services.errors import NotFound

GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def load_visualization(comparison_id: str | None) -> html.Div:
    """The whole page; a comparison the user cannot see answers the same not-found page as a missing one."""
    try:
        stored = comparison.get_comparison(core(), actor(), comparison_id or "")
    except NotFound:
        return not_found("comparison")
    results, request = stored["results"], stored["request"]
    names = {e: info.get("name") or e[:8] for e, info in (results.get("experiments") or {}).items()}
    best = results.get("best_experiment")
    settings = results.get("settings") or {}
    basis = results.get("best_experiment_basis") or {}
    subtitle = (f"{len(request.get('experiment_ids') or [])} experiments · {settings.get('test', '')} test on the "
                f"{settings.get('summary', '')} value of each run · alpha {settings.get('alpha', '')} · "
                f"created {(stored.get('created_at') or '')[:16].replace('T', ' ')} UTC")
    banner = dbc.Alert([html.Span("Best experiment: ", className="fw-semibold"),
                        html.Span(names.get(best, best or "—"), id="viz-best"),
                        html.Span(f" (best mean of {basis.get('metric', '')}, {basis.get('mode', '')} is better)",
                                  className="text-secondary")], color="success", className="py-2")
    sections = [_metric_card(metric, result, results.get("runs") or [], names)
                for metric, result in (results.get("statistical_significance") or {}).items()]
    return html.Div([page_header("Experiment comparison", subtitle,
                                 trail=[("Projects", "/projects"), ("Comparison", None)]), banner, *sections])


def _metric_card(metric: str, result: dict, runs: list[dict], names: dict[str, str]) -> dbc.Card:
    order = result.get("ranking") or list(names)
    mode = "higher is better" if result.get("mode") == "max" else "lower is better"
    return dbc.Card(dbc.CardBody([
        html.Div([html.H2(metric, className="h6 d-inline me-2"),
                  html.Span(f"{result.get('summary', '')} value per run · {mode}", className="small text-secondary")]),
        group_summary(result, names, result.get("best_experiment")),
        significance_table(result, names),
        dcc.Graph(figure=values_figure(metric, runs, order, names), config=GRAPH_CONFIG, className="mt-2")]),
        className="mb-3 viz-metric", id={"type": "viz-metric", "metric": metric})


def register(app: Dash) -> None:
    app.callback(Output(ids.VIZ_CONTENT, "children"), Input(ids.VIZ_ID, "data"))(load_visualization)
