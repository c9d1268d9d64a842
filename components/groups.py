"""Pure builders for grouped comparison: the "mean ± std (n)" summary table and mean curves with 95% CI bands."""
from __future__ import annotations

import plotly.graph_objects as go
from dash import html

from typing import Any

from components.compare import AGGS, PALETTE, el, empty_state


def cell_text(stat: Any) -> str:
    """A services.groups.Stat as "mean ± std (n)"; std "—" when n < 2, the cell "—" when no run has a value."""
    if stat is None or stat.mean is None:
        return "—"
    std = "—" if stat.std is None else f"{stat.std:.3g}"
    return f"{stat.mean:.4g} ± {std} ({stat.n})"


def group_label(name: str, value: str) -> str:
    return f"{name} = {value}"


def group_table(kind: str, name: str, summaries: list[dict], keys: list[str]) -> html.Div:
    """One row per group (services.groups.summarize); each metric's last / min / max as "mean ± std (n)"."""
    if not keys:
        return empty_state("These runs have no metrics logged yet.")
    head = html.Thead([html.Tr([html.Th(f"Group ({kind} {name})", rowSpan=2), html.Th("Runs", rowSpan=2),
                                *[html.Th(k, colSpan=3, className="text-center") for k in keys]]),
                       html.Tr([html.Th(a, className="agg") for _ in keys for a in AGGS])])
    rows = []
    for group in summaries:
        mark = html.Span(f"{group['failed']} gate failed", className="badge bg-danger gate-badge gate-failed ms-1") \
            if group["failed"] else None
        cells = [html.Td([group_label(name, group["value"]), mark]), html.Td(str(group["runs"]), className="num")]
        cells += [el(html.Td, cell_text(group["stats"].get((metric, agg))), className="num group-cell")
                  for metric in keys for agg in AGGS]
        rows.append(html.Tr(cells, className="group-row"))
    note = html.Div("Each cell: mean ± sample standard deviation (number of runs with a value); "
                    "— where fewer than two runs have one.", className="small text-secondary mb-1")
    return html.Div([note, html.Div(html.Table([head, html.Tbody(rows)], className="table table-sm compare-table mb-0"),
                                    className="compare-scroll")])


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def group_curves_figure(metric: str, bands: list[tuple[str, list]]) -> go.Figure:
    """Per group: the mean line by step and, where at least two runs have the step, a shaded 95% CI band
    (bands: [(label, [services.groups.BandPoint])])."""
    fig = go.Figure()
    for i, (label, band) in enumerate(bands):
        color = PALETTE[i % len(PALETTE)]
        ci = [p for p in band if p.low is not None]
        if ci:
            fig.add_trace(go.Scatter(x=[p.step for p in ci] + [p.step for p in reversed(ci)],
                                     y=[p.high for p in ci] + [p.low for p in reversed(ci)], fill="toself",
                                     fillcolor=_rgba(color, 0.18), line={"width": 0}, mode="lines", hoverinfo="skip",
                                     name=f"{label} · 95% CI", legendgroup=label, showlegend=False))
        fig.add_trace(go.Scatter(x=[p.step for p in band], y=[p.mean for p in band], name=label, legendgroup=label,
                                 mode="lines+markers" if len(band) < 40 else "lines",
                                 line={"color": color, "width": 2}, marker={"size": 4},
                                 customdata=[[p.n, "—" if p.low is None else f"{p.low:.4g} … {p.high:.4g}"]
                                             for p in band],
                                 hovertemplate=f"{label} · step %{{x}}: mean %{{y:.6g}} "
                                               "(n=%{customdata[0]}, 95% CI %{customdata[1]})<extra></extra>"))
    fig.update_layout(title={"text": f"{metric} by step · group means with 95% CI", "font": {"size": 14},
                             "x": 0.01}, template="plotly_white", height=340, hovermode="closest",
                      margin={"l": 50, "r": 15, "t": 45, "b": 40}, xaxis={"title": {"text": "step"}},
                      legend={"font": {"size": 11}}, uirevision=f"groups-{metric}")
    return fig
