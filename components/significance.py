"""Pure builders for a stored experiment comparison: significance table per metric and each group's run values."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from components.compare import PALETTE

TESTS = {"welch": "Welch t", "mannwhitney": "Mann-Whitney U", "anova": "ANOVA", "kruskal": "Kruskal-Wallis"}


def p_text(value: Any) -> str:
    if value is None:
        return "—"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def num_text(value: Any) -> str:
    return "—" if value is None else f"{value:.4g}"


def ci_text(ci: Any) -> str:
    return f"[{ci[0]:.4g}, {ci[1]:.4g}]" if isinstance(ci, list) and len(ci) == 2 else "—"


def significant_badge(result: dict) -> dbc.Badge:
    if result.get("p_value") is None:
        return dbc.Badge("no test", color="light", text_color="secondary", className="sig-badge")
    return dbc.Badge("significant", color="success", className="sig-badge") if result.get("significant") \
        else dbc.Badge("not significant", color="secondary", className="sig-badge")


def _row(label: str, result: dict, names: dict[str, str]) -> html.Tr:
    effect = result.get("effect_size") or {}
    n = [html.Div(f"{names.get(k, k[:8])}: {v}") for k, v in (result.get("n") or {}).items()]
    warnings = result.get("warnings") or []
    return html.Tr([html.Td(label), html.Td(TESTS.get(result.get("test"), result.get("test") or "—")),
                    html.Td(p_text(result.get("p_value")), className="num p-value"),
                    html.Td(p_text(result.get("adjusted_p")), className="num"),
                    html.Td(significant_badge(result)),
                    html.Td(f"{num_text(effect.get('value'))} ({(effect.get('name') or '').replace('_', ' ')})"
                            if effect else "—", className="num"),
                    html.Td(ci_text(result.get("ci_difference")), className="num"), html.Td(n, className="small"),
                    html.Td([html.Div(w, className="sig-warning") for w in warnings], className="small")])


def significance_table(metric_result: dict, names: dict[str, str]) -> html.Table:
    """The overall test (when more than two groups) and every pair: p, Holm-adjusted p, effect size, CI, n."""
    head = html.Thead(html.Tr([html.Th(h) for h in ("Comparison", "Test", "p", "adjusted p", "", "Effect size",
                                                     "95% CI of the difference", "n per group", "Warnings")]))
    rows = []
    pairs = metric_result.get("pairwise") or []
    if len(metric_result.get("ranking") or []) > 2:
        rows.append(_row("all experiments", metric_result, names))
    for pair in pairs:
        rows.append(_row(f"{names.get(pair['first'], pair['first'][:8])} − {names.get(pair['second'], '?')}",
                         pair, names))
    if not pairs:
        rows.append(_row("all experiments", metric_result, names))
    return html.Div(html.Table([head, html.Tbody(rows)], className="table table-sm compare-table sig-table mb-0"),
                    className="compare-scroll")


def group_summary(metric_result: dict, names: dict[str, str], best: str | None) -> html.Div:
    """Each experiment's mean and n, best first; the best experiment highlighted."""
    items = []
    for exp_id in metric_result.get("ranking") or []:
        group = (metric_result.get("groups") or {}).get(exp_id) or {}
        classes = "group-chip best" if exp_id == best else "group-chip"
        items.append(html.Span([html.Span(names.get(exp_id, exp_id[:8]), className="fw-semibold me-1"),
                                f"mean {num_text(group.get('mean'))} · n={group.get('n', 0)}",
                                html.Span(" ★ best", className="best-mark") if exp_id == best else None],
                               className=classes))
    return html.Div(items, className="d-flex flex-wrap gap-2 mb-2")


def values_figure(metric: str, runs: list[dict], order: list[str], names: dict[str, str]) -> go.Figure:
    """A box with every run's value as a point, one per experiment (results.runs holds the per-run values)."""
    fig = go.Figure()
    for i, exp_id in enumerate(order):
        chosen = [r for r in runs if r.get("experiment_id") == exp_id and (r.get("values") or {}).get(metric)
                  is not None]
        fig.add_trace(go.Box(y=[r["values"][metric] for r in chosen], name=names.get(exp_id, exp_id[:8]),
                             text=[r.get("run_name") or r["run_id"][:8] for r in chosen], boxpoints="all",
                             jitter=0.4, pointpos=0, marker={"color": PALETTE[i % len(PALETTE)], "size": 7},
                             line={"color": PALETTE[i % len(PALETTE)]},
                             hovertemplate="%{text}: %{y:.6g}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=300, showlegend=False,
                      margin={"l": 55, "r": 15, "t": 35, "b": 40},
                      title={"text": f"{metric}: each run's value", "font": {"size": 14}, "x": 0.01})
    return fig
