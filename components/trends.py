"""Pure builders for the trends pages and cost cards: figures over time, usage tables, the run cost card."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import ids

LINE = "#4f46e5"
STATUS_COLOURS = {"FINISHED": "#16a34a", "FAILED": "#dc2626", "KILLED": "#d97706", "RUNNING": "#2563eb",
                  "SCHEDULED": "#6b7280"}
GRAPH_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover"}
DASH = "—"
MARGIN = {"l": 55, "r": 20, "t": 30, "b": 45}
SOURCES = {"logged": "logged", "system_metrics": "from system metrics", "declared": "declared × duration"}
LABELLED_POINTS = 12  # up to this many experiments, each point carries its name

BEST_EMPTY = ("No experiment of this project has logged {metric} yet. Log it from training code "
              "(POST /api/v1/runs/<run_id>/metrics) and each experiment's best value appears here.")
NO_METRICS = "No metrics logged in this project yet: log metrics from your runs to chart their trend."
OUTCOMES_EMPTY = "No finished, failed or killed runs yet: set a run's status when it ends (PATCH /api/v1/runs/<id>)."
DURATIONS_EMPTY = "No run has ended yet: runs get a duration when their status is set to FINISHED, FAILED or KILLED."
USAGE_EMPTY = ("No resource figures yet: log them with POST /api/v1/runs/<id>/resources (cpu_hours, gpu_hours, "
               "peak_memory_gb), log system metrics with the Python client, or declare cpu_count / gpu_count in "
               "the run's environment.")


def fmt(value: float | None, digits: int = 3) -> str:
    """A figure for a table: "—" when missing, else a short number."""
    return DASH if value is None else f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def money(value: float | None, currency: str = "USD") -> str:
    if value is None:
        return DASH
    return f"${value:,.2f}" if currency == "USD" and (value >= 0.01 or value == 0) else f"{value:.4g} {currency}"


def empty(message: str, element_id: str | None = None) -> html.Div:
    return html.Div(html.P(message, className="text-secondary small mb-0"), className="trends-empty py-4 px-2",
                    **({"id": element_id} if element_id else {}))


def card(title: str, body: list, extra: list | None = None, element_id: str | None = None) -> dbc.Card:
    head = html.Div([html.Div(title, className="card-title-sm"), *(extra or [])],
                    className="d-flex justify-content-between align-items-center mb-1")
    return dbc.Card(dbc.CardBody([head, *body]), className="mb-3", **({"id": element_id} if element_id else {}))


def graph(graph_id: str, figure: go.Figure | dict | None = None, height: int = 320, tools: bool = True) -> dcc.Graph:
    config = GRAPH_CONFIG if tools else {**GRAPH_CONFIG, "displayModeBar": False}
    return dcc.Graph(id=graph_id, figure=figure or {}, config=config, style={"height": f"{height}px"})


def _layout(fig: go.Figure, x_title: str, y_title: str, **extra: object) -> go.Figure:
    xaxis = {"title": {"text": x_title}, **extra.pop("xaxis", {})}  # type: ignore[dict-item]
    settings = {"template": "plotly_white", "margin": MARGIN, "hovermode": "closest", "xaxis": xaxis,
                "yaxis_title": y_title, "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0}, **extra}
    fig.update_layout(**settings)
    return fig


def best_figure(best: dict) -> go.Figure:
    """One marker per experiment: its best value at its creation time; customdata is the experiment id."""
    points = best["points"]
    fig = go.Figure(go.Scatter(
        x=[p["created_at"] for p in points], y=[p["best"] for p in points],
        mode="lines+markers+text" if len(points) <= LABELLED_POINTS else "lines+markers", textposition="top center",
        text=[p["name"] for p in points], customdata=[p["experiment_id"] for p in points],
        line={"color": LINE, "width": 2}, marker={"size": 10}, name=f"best {best['metric']}",
        hovertemplate="<b>%{text}</b><br>" + f"{best['mode']} {best['metric']}" + ": %{y:.6g}<br>"
                      "created %{x|%Y-%m-%d %H:%M}<br>click to open<extra></extra>"))
    return _layout(fig, "experiment created", f"best {best['metric']} ({best['mode']})", showlegend=False)


def outcomes_figure(outcomes: dict) -> go.Figure:
    """Stacked finished / failed / killed bars per day or week and the success rate on a second axis."""
    buckets = outcomes["buckets"]
    x = [b["start"] for b in buckets]
    fig = go.Figure([go.Bar(x=x, y=[b[s] for b in buckets], name=s.lower(), marker_color=STATUS_COLOURS[s],
                            hovertemplate=f"%{{y}} {s.lower()}<extra></extra>")
                     for s in ("FINISHED", "FAILED", "KILLED")])
    fig.add_trace(go.Scatter(x=x, y=[round(100 * b["success_rate"], 1) for b in buckets], yaxis="y2",
                             mode="lines+markers", name="success %", line={"color": "#111827", "dash": "dot"},
                             hovertemplate="%{y}% finished<extra></extra>"))
    return _layout(fig, f"run start ({outcomes['unit']})", "runs", barmode="stack", hovermode="x unified",
                   xaxis={"tickformat": "%b %d", "type": "date",
                          "dtick": 86_400_000 if outcomes["unit"] == "day" else 7 * 86_400_000},
                   yaxis2={"overlaying": "y", "side": "right", "range": [0, 105], "title": "success %",
                           "showgrid": False, "tickvals": [0, 25, 50, 75, 100]})


def durations_figure(durations: list[dict]) -> go.Figure:
    """A box per experiment with every run drawn beside it (hover: run name)."""
    fig = go.Figure(go.Box(x=[d["experiment"] for d in durations], y=[d["seconds"] / 60 for d in durations],
                           text=[d["name"] for d in durations], boxpoints="all", jitter=0.4, pointpos=0,
                           marker={"color": LINE, "size": 5}, line={"color": LINE}, name="duration",
                           hovertemplate="%{text}: %{y:.3g} min<extra></extra>"))
    return _layout(fig, "experiment", "duration (minutes)", showlegend=False)


def running_best(runs: list[dict], mode: str) -> list[float | None]:
    """The best value so far at each run (in start order); None before the first run with a value."""
    best: float | None = None
    out = []
    for run in runs:
        value = run["value"]
        if value is not None and (best is None or (value > best if mode == "max" else value < best)):
            best = value
        out.append(best)
    return out


def runs_figure(answer: dict) -> go.Figure:
    """Each run's value against its start time, a trace per status, with the running best as a step line."""
    runs = [r for r in answer["runs"] if r["value"] is not None]
    fig = go.Figure(go.Scatter(x=[r["start_time"] for r in runs], y=running_best(runs, answer["mode"]),
                               mode="lines", line={"shape": "hv", "color": LINE, "width": 2}, hoverinfo="skip",
                               name=f"running best ({answer['mode']})"))  # first, so the run markers sit on top
    for status in STATUS_COLOURS:
        chosen = [r for r in runs if r["status"] == status]
        if chosen:
            fig.add_trace(go.Scatter(
                x=[r["start_time"] for r in chosen], y=[r["value"] for r in chosen], mode="markers",
                name=status.lower(), text=[r["name"] for r in chosen], customdata=[r["run_id"] for r in chosen],
                marker={"color": STATUS_COLOURS[status], "size": 9, "line": {"width": 1, "color": "white"}},
                hovertemplate="<b>%{text}</b><br>%{y:.6g}<br>started %{x|%Y-%m-%d %H:%M}<extra></extra>"))
    label = f"{answer['summary']} {answer['metric']}"
    return _layout(fig, "run start", label)


def run_durations_figure(runs: list[dict]) -> go.Figure:
    ended = [r for r in runs if r["seconds"] is not None]
    fig = go.Figure(go.Scatter(
        x=[r["start_time"] for r in ended], y=[r["seconds"] / 60 for r in ended], mode="markers",
        text=[r["name"] for r in ended], customdata=[r["run_id"] for r in ended],
        marker={"color": [STATUS_COLOURS.get(r["status"], LINE) for r in ended], "size": 8},
        hovertemplate="<b>%{text}</b><br>%{y:.3g} min<extra></extra>"))
    return _layout(fig, "run start", "duration (minutes)", showlegend=False)


def _tile(label: str, value: str, tile_id: str | None = None) -> html.Div:
    return html.Div([html.Div(label, className="text-secondary small"),
                     html.Div(value, className="fs-5 fw-semibold", **({"id": tile_id} if tile_id else {}))],
                    className="me-4 mb-2")


def has_usage(resources: dict) -> bool:
    return any(resources.get(k) for k in ("cpu_hours", "gpu_hours", "memory_gb_hours", "peak_memory_gb"))


def totals_row(cost: dict, prefix: str = "usage") -> html.Div:
    """Runs, hours, CPU h, GPU h, peak memory and cost of a cost answer (run, experiment, project or team)."""
    res = cost["resources"]
    tiles = [_tile("Runs", str(cost["runs"])), _tile("Run hours", fmt(cost["run_hours"])),
             _tile("CPU h", fmt(res["cpu_hours"])), _tile("GPU h", fmt(res["gpu_hours"])),
             _tile("Peak memory", DASH if res["peak_memory_gb"] is None else f"{fmt(res['peak_memory_gb'])} GB"),
             _tile("Cost", money(cost["cost"]["total"], cost["cost"]["currency"]), f"{prefix}-total-cost")]
    return html.Div(tiles, className="d-flex flex-wrap")


def rates_line(rates: dict) -> html.P:
    which = {True: "the team's rates", False: "the default rates"}.get(rates.get("custom"), "the team's rates")
    return html.P(f"Priced at {which}: ${rates['cpu_per_hour']:g} per CPU hour, ${rates['gpu_per_hour']:g} per GPU "
                  f"hour, ${rates['memory_per_gb_hour']:g} per GB-hour of memory.", className="small text-secondary")


def _table(head: list[str], rows: list[list], table_id: str) -> dbc.Table:
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                      html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows])],
                     size="sm", hover=True, className="mb-0 small", id=table_id)


def experiment_usage_table(by_experiment: list[dict]) -> dbc.Table:
    rows = [[dcc.Link(e["name"], href=f"/experiments/{e['id']}/trends"), e["runs"],
             fmt(e["resources"]["cpu_hours"]), fmt(e["resources"]["gpu_hours"]),
             fmt(e["resources"]["peak_memory_gb"]), money(e["cost"]["total"])] for e in by_experiment]
    return _table(["Experiment", "Runs", "CPU h", "GPU h", "Peak memory GB", "Cost"], rows, "trends-usage-table")


def costliest_table(runs: list[dict]) -> dbc.Table:
    rows = [[dcc.Link(r["name"] or r["run_id"][:8], href=f"/runs/{r['run_id']}"), fmt(r["cpu_hours"]),
             fmt(r["gpu_hours"]), fmt(r["peak_memory_gb"]), money(r["cost"])] for r in runs]
    return _table(["Run", "CPU h", "GPU h", "Peak memory GB", "Cost"], rows, "trends-costliest-table")


def usage_card(cost: dict, detail: object, title: str = "Usage & cost") -> dbc.Card:
    if not cost["runs"] or not has_usage(cost["resources"]):
        return card(title, [empty(USAGE_EMPTY)], element_id="usage-card")
    return card(title, [totals_row(cost), rates_line(cost["rates"]), detail], element_id="usage-card")


def run_cost_card(answer: dict) -> dbc.Card | None:
    """CPU h, GPU h, peak memory and cost of one run; None when the run has no resource figure at all."""
    res = answer["resources"]
    if all(res.get(k) is None for k in ("cpu_hours", "gpu_hours", "peak_memory_gb")):
        return None
    sources = answer.get("sources") or {}
    rows = [("CPU hours", fmt(res["cpu_hours"]), sources.get("cpu_hours")),
            ("GPU hours", fmt(res["gpu_hours"]), sources.get("gpu_hours")),
            ("Peak memory", DASH if res["peak_memory_gb"] is None else f"{fmt(res['peak_memory_gb'])} GB",
             sources.get("peak_memory_gb"))]
    cost = answer["cost"]
    lines = [html.Tr([html.Td(k, className="text-secondary"), html.Td(v),
                      html.Td(SOURCES.get(src or "", ""), className="small text-secondary text-end")])
             for k, v, src in rows]
    lines.append(html.Tr([html.Td("Cost", className="fw-semibold"),
                          html.Td(money(cost["total"], cost["currency"]), className="fw-semibold",
                                  id="run-cost-total"), html.Td()]))
    body = [html.Table(html.Tbody(lines), className="table table-sm mb-1"),
            rates_line(answer["rates"])]
    if answer.get("running"):
        body.append(html.P("Still running: the figures grow until it ends.", className="small text-secondary mb-0"))
    return card("Usage & cost", body, element_id=ids.RUN_COST_CARD)
