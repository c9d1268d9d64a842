"""Run page artifacts: the list card (name, type, size, created, download), previews by kind, the heatmap."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import ids

PAGE = 50
UPLOAD_HINT = ("curl -H 'Authorization: Bearer $TOKEN' -F file=@confusion.json -F type=confusion_matrix "
               "{base}/api/v1/runs/{run_id}/artifacts   # or run.log_artifact(path) from the Python client")


def human_size(size: int | None) -> str:
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def panel(limit: int, selected: str | None) -> dbc.Card:
    """The card's frame; the list and the preview are filled by their own callbacks."""
    return dbc.Card(dbc.CardBody([
        html.Div("Artifacts", className="card-title-sm"),
        dcc.Store(id=ids.ART_LIMIT, data=limit), dcc.Store(id=ids.ART_SELECTED, data=selected),
        html.Div(id=ids.ART_LIST),
        html.Div(id=ids.ART_PREVIEW, className="art-preview")]), className="mt-3", id=ids.ART_PANEL)


def empty_state(base_url: str, run_id: str) -> html.Div:
    return html.Div([html.P("No artifacts yet.", className="text-secondary small mb-1"),
                     html.Code(UPLOAD_HINT.format(base=base_url, run_id=run_id), className="art-hint")])


def _row(item: dict, selected: str | None) -> html.Tr:
    name = html.Button(item["name"], id={"type": ids.ART_PICK, "id": item["id"]}, className="art-name btn-link",
                       title="Preview")
    if item["stored"]:
        action = html.A("Download", href=item["download_url"], className="small")
    else:
        action = html.Span(item["path"], className="small text-secondary art-uri", title="registered by URI")
    created = (item.get("created_at") or "")[:16].replace("T", " ")
    return html.Tr([html.Td(name), html.Td(dbc.Badge(item["type"], color="light", text_color="dark")),
                    html.Td(human_size(item["size_bytes"]), className="text-end text-nowrap"),
                    html.Td(created, className="small text-secondary text-nowrap"), html.Td(action)],
                   className="table-active" if item["id"] == selected else None)


def artifact_table(items: list[dict], total: int, selected: str | None) -> html.Div:
    head = html.Thead(html.Tr([html.Th(h) for h in ("Name", "Type", "Size", "Created", "")]))
    table = html.Table([head, html.Tbody([_row(a, selected) for a in items])],
                       className="table table-sm art-table mb-2")
    more = dbc.Button(f"Show more ({total - len(items)} more)", id=ids.ART_MORE, size="sm", color="secondary",
                      outline=True) if total > len(items) else html.Span(id=ids.ART_MORE)
    note = html.Div(f"{total} artifact{'s' if total != 1 else ''} · click a name to preview",
                    className="small text-secondary mb-1")
    return html.Div([note, html.Div(table, className="art-table-wrap"), more])


def _notice(preview: dict, what: str) -> html.Div | None:
    if not preview.get("truncated"):
        return None
    return html.Div(f"Truncated: showing only the {what}. Download the file to see all of it.",
                    className="small art-truncated mt-1")


def heatmap_figure(labels: list[str], matrix: list[list[float]]) -> go.Figure:
    """Rows are actual classes, columns predicted; each cell shows its count."""
    fig = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, colorscale="Blues", texttemplate="%{z}",
                               hovertemplate="actual %{y}<br>predicted %{x}<br>count %{z}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=max(260, min(560, 60 * len(labels) + 120)),
                      margin={"l": 60, "r": 20, "t": 10, "b": 50},
                      xaxis={"title": "predicted", "type": "category"},
                      yaxis={"title": "actual", "autorange": "reversed", "type": "category"})
    return fig


def _table(preview: dict) -> html.Div:
    head = html.Thead(html.Tr([html.Th(h) for h in preview["header"]]))
    body = html.Tbody([html.Tr([html.Td(c) for c in row]) for row in preview["rows"]])
    return html.Div([html.Div(html.Table([head, body], className="table table-sm table-striped art-csv mb-0"),
                              className="art-scroll"),
                     _notice(preview, f"first {len(preview['rows'])} rows")])


def _body(preview: dict) -> object:
    kind = preview["kind"]
    if kind == "image":
        return html.Img(src=f"{preview['url']}?inline=1", alt=preview["name"], className="art-image")
    if kind in ("text", "json"):
        return html.Div([html.P(preview["message"], className="small text-secondary mb-1")
                         if preview.get("message") else None,
                         html.Pre(preview["text"], className="art-text"), _notice(preview, "first 64 KB")])
    if kind == "table":
        return _table(preview)
    if kind == "confusion_matrix":
        return dcc.Graph(figure=heatmap_figure(preview["labels"], preview["matrix"]), className="art-heatmap",
                         config={"displayModeBar": False, "responsive": True})
    if kind == "uri":
        return html.P(["Registered by URI only; no bytes are stored here: ", html.Code(preview["uri"])],
                      className="small mb-0")
    return html.P([preview.get("message") or "", " No preview for this type — ",
                   html.A("download it", href=preview["url"]) if preview.get("url") else "download it", "."],
                  className="small text-secondary mb-0")


def preview_pane(preview: dict) -> html.Div:
    title = html.Div([html.Span("Preview: ", className="text-secondary"), html.Span(preview["name"],
                                                                                   className="fw-semibold")],
                     className="small mb-2")
    return html.Div([html.Hr(className="my-2"), title, _body(preview)])


def preview_error(message: str) -> html.Div:
    return html.Div([html.Hr(className="my-2"), html.P(message, className="small text-warning mb-0")])
