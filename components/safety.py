"""Safety gate builders (pure): traffic-light and verdict badges, the run safety panel, the experiment summary."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components import ids

LIGHT_COLORS = {"green": "success", "amber": "warning", "red": "danger", "grey": "secondary"}
VERDICT_COLORS = {"passed": "success", "failed": "danger", "incomplete": "warning", "no_criteria": "secondary"}
VERDICT_TEXT = {"passed": "Gate passed", "failed": "Gate failed", "incomplete": "Gate incomplete",
                "no_criteria": "No gate criteria"}
HYPOTHESIS_COLORS = {"supported": "success", "not_supported": "danger", "inconclusive": "secondary"}


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def light_badge(status: str) -> dbc.Badge:
    return dbc.Badge(status, color=LIGHT_COLORS.get(status, "secondary"), className=f"light-badge light-{status}")


def gate_badge(verdict: str, badge_id: str | None = None) -> dbc.Badge:
    extra = {"id": badge_id} if badge_id else {}
    return dbc.Badge(VERDICT_TEXT.get(verdict, verdict), color=VERDICT_COLORS.get(verdict, "secondary"),
                     className=f"gate-badge gate-{verdict}", **extra)


def _metrics_table(metrics: list[dict]) -> html.Table:
    head = html.Thead(html.Tr([html.Th(h) for h in ("Metric", "Value", "Threshold", "")]))
    rows = [html.Tr([html.Td(m["metric"], title=m["group"].replace("_", " ")), html.Td(fmt(m["value"])),
                     html.Td(m["criterion"], title=f"threshold from {m['threshold_source']}"),
                     html.Td(light_badge(m["status"]))], className=f"safety-row light-row-{m['status']}")
            for m in metrics]
    return html.Table([head, html.Tbody(rows)], className="table table-sm safety-table mb-2")


def _criteria_list(gate: dict) -> html.Div:
    items = [html.Li([html.Span("✓ " if c.get("passed") else "✗ " if c.get("passed") is False else "? ",
                                className="gate-mark"),
                      html.Span(f"{c.get('metric')} {c.get('criterion', '')}".strip()),
                      html.Span(f" = {fmt(c.get('value'))}", className="text-secondary")],
                     className="gate-" + ("pass" if c.get("passed") else "fail" if c.get("passed") is False
                                          else "missing"))
             for c in gate.get("criteria", [])]
    if not items:
        return html.P("The experiment sets no validation criteria.", className="text-secondary small mb-2")
    return html.Ul(items, className="gate-criteria list-unstyled small mb-2")


def confusion_matrix(cm: dict | None) -> html.Div | None:
    """A small heatmap table (rows actual, columns predicted), shaded by each cell's share of the largest."""
    if not cm:
        return None
    matrix, labels = cm.get("matrix"), cm.get("labels") or []
    if not matrix:
        return html.P(cm.get("error") or "Confusion matrix incomplete.", className="text-secondary small mb-0")
    top = max((v for row in matrix for v in row), default=0) or 1
    head = html.Tr([html.Th("actual ↓ / predicted →", className="small")] + [html.Th(str(lb)) for lb in labels])
    body = [html.Tr([html.Th(str(labels[i]) if i < len(labels) else str(i))]
                    + [html.Td(fmt(v), style={"backgroundColor": f"rgba(13, 110, 253, {0.08 + 0.6 * v / top:.2f})"})
                       for v in row]) for i, row in enumerate(matrix)]
    return html.Div([html.Div("Confusion matrix", className="small fw-semibold mb-1"),
                     html.Table([html.Thead(head), html.Tbody(body)], className="table table-sm cm-table mb-0")],
                    id=ids.SAFETY_MATRIX, className="cm-wrap")


def safety_panel(safety: dict, gate: dict) -> dbc.Card:
    """The run's gate verdict with each criterion, its safety metrics with lights, its confusion matrix."""
    metrics = [m for m in safety.get("metrics", []) if m["value"] is not None] or safety.get("metrics", [])
    logged = any(m["value"] is not None for m in metrics)
    lights = [html.Span(light_badge(safety.get("overall", "grey")), className="ms-1",
                        title="worst traffic light of the safety metrics")] if logged else []
    title = html.Div([html.Span("Safety", className="card-title-sm me-2"),
                      gate_badge(gate.get("verdict", "no_criteria"), ids.SAFETY_GATE_BADGE), *lights],
                     className="d-flex align-items-center mb-2")
    if not logged and not gate.get("criteria") and not safety.get("confusion_matrix"):  # nothing to judge: one line
        return dbc.Card(dbc.CardBody([title, html.P("No validation criteria and no safety metrics logged.",
                                                    className="text-secondary small mb-0")]),
                        className="mb-3 safety-panel safety-empty")
    body = [title, _criteria_list(gate),
            _metrics_table(metrics) if logged
            else html.P("No healthcare or safety metrics logged.", className="text-secondary small mb-2"),
            confusion_matrix(safety.get("confusion_matrix"))]
    color = "danger" if gate.get("verdict") == "failed" else None
    return dbc.Card(dbc.CardBody([b for b in body if b is not None]), className="mb-3 safety-panel",
                    color=color, outline=bool(color))


def _counts(counts: dict) -> html.Div:
    parts = [gate_badge(v) if counts.get(v) else None for v in ("passed", "failed", "incomplete", "no_criteria")]
    return html.Div([html.Span([p, html.Span(f" {counts[v]}", className="me-3 small")])
                     for p, v in zip(parts, ("passed", "failed", "incomplete", "no_criteria")) if p is not None]
                    or [html.Span("No runs yet.", className="text-secondary small")],
                    className="d-flex flex-wrap align-items-center gate-counts")


def _hypothesis(result: dict) -> html.Div:
    verdict = result.get("verdict", "inconclusive")
    return html.Div([html.Span("Hypothesis ", className="fw-semibold me-1"),
                     dbc.Badge(verdict.replace("_", " "), color=HYPOTHESIS_COLORS.get(verdict, "secondary"),
                               className=f"hypothesis-verdict verdict-{verdict}"),
                     html.Span(" " + (result.get("reason") or ""), className="small text-secondary")],
                    className="mt-2 hypothesis-line")


def _distribution(dist: dict) -> html.Table | html.P:
    shown = {m: d for m, d in dist.items() if d.get("n")}
    if not shown:
        return html.P("No healthcare or safety metrics logged.", className="text-secondary small mb-0")
    head = html.Thead(html.Tr([html.Th(h) for h in ("Safety metric", "n", "Min", "Median", "Max", "Gate")]))
    rows = [html.Tr([html.Td(m), html.Td(d["n"]), html.Td(fmt(d["min"])), html.Td(fmt(d["median"])),
                     html.Td(fmt(d["max"])), html.Td(d["criterion"])]) for m, d in shown.items()]
    return html.Table([head, html.Tbody(rows)], className="table table-sm safety-dist mb-0")


def experiment_summary(dashboard: dict, safety: dict) -> dbc.Card:
    """Gate counts, the hypothesis verdict with its reason, and min/median/max per safety metric."""
    counts = dashboard.get("gates", {}).get("counts", {})
    return dbc.Card(dbc.CardBody([html.Div("Safety gates", className="card-title-sm mb-1"), _counts(counts),
                                  _hypothesis(dashboard.get("hypothesis", {})),
                                  html.Div(_distribution(safety.get("distribution", {})), className="mt-2")]),
                    className="mb-3 exp-summary")
