"""Small shared builders: page headers, status badges, not-found page, errors, the first-run snippet."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

STATUS_COLORS = {"RUNNING": "primary", "SCHEDULED": "secondary", "FINISHED": "success", "FAILED": "danger",
                 "KILLED": "warning", "active": "success", "archived": "secondary"}


def status_badge(status: str | None) -> dbc.Badge:
    return dbc.Badge(status or "—", color=STATUS_COLORS.get(status or "", "light"), className="status-badge")


def breadcrumbs(items: list[tuple[str, str | None]]) -> html.Nav:
    """[(label, href or None for the current page)] → a breadcrumb trail with client-side links."""
    crumbs = [html.Li(dcc.Link(label, href=href) if href else label,
                      className="breadcrumb-item" + ("" if href else " active")) for label, href in items]
    return html.Nav(html.Ol(crumbs, className="breadcrumb mb-1"), **{"aria-label": "breadcrumb"})


def page_header(title: str, subtitle: str | None = None, actions: list | None = None,
                trail: list[tuple[str, str | None]] | None = None, badges: list | None = None) -> html.Div:
    left = [breadcrumbs(trail)] if trail else []
    left.append(html.H1([title, *[html.Span(b, className="ms-2 align-middle") for b in badges or []]],
                        className="h3 mb-1 page-title"))
    if subtitle:
        left.append(html.P(subtitle, className="text-secondary mb-0 page-subtitle"))
    return html.Div([html.Div(left), html.Div(actions or [], className="d-flex gap-2 align-items-start")],
                    className="d-flex justify-content-between align-items-start mb-3 page-header")


def not_found(what: str = "page") -> html.Div:
    """The same page for a missing and for an invisible thing: it says nothing about which it was."""
    return html.Div([html.H1("Not found", className="h3"),
                     html.P(f"This {what} does not exist, or you do not have access to it."),
                     dcc.Link("Back to projects", href="/projects", className="btn btn-outline-primary btn-sm")],
                    className="not-found py-5 text-center", id="not-found")


def error_alert(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="danger", className="mb-0 py-2")


def first_run_snippets(base_url: str, username: str, team: str | None) -> html.Div:
    """How to log a first run: copy-paste curl and Python requests, filled with this server's address."""
    base = base_url.rstrip("/")
    team_name = team or "my-team"
    curl = CURL_TEMPLATE.format(base=base, user=username, team=team_name)
    python = PYTHON_TEMPLATE.format(base=base, user=username, team=team_name)
    return html.Div([
        _snippet("With curl", curl, "snippet-curl"),
        _snippet("With Python requests", python, "snippet-python"),
        html.P(["Replace the password or use a token from the ", dcc.Link("API tokens", href="/settings/tokens"),
                " page. The full API is described at ", html.A("/docs", href="/docs"), "."],
               className="text-secondary small mb-0")])


def _snippet(title: str, code: str, snippet_id: str) -> html.Div:
    return html.Div([html.Div([html.Span(title, className="fw-semibold"),
                               dcc.Clipboard(target_id=snippet_id, title="Copy", className="snippet-copy")],
                              className="d-flex justify-content-between align-items-center mb-1"),
                     html.Pre(code, id=snippet_id, className="snippet")], className="mb-3")


CURL_TEMPLATE = """# a token for your account (or create one on the API tokens page)
field() {{ python3 -c "import sys, json; print(json.load(sys.stdin)['$1'])"; }}
TOKEN=$(curl -s -X POST {base}/api/v1/auth/token -H 'Content-Type: application/json' \\
  -d '{{"username": "{user}", "password": "YOUR-PASSWORD"}}' | field token)
post() {{ curl -s -X POST "{base}/api/v1/$1" -H "Authorization: Bearer $TOKEN" \\
  -H 'Content-Type: application/json' -d "$2"; }}

PROJECT=$(post projects '{{"name": "my-first-project", "team": "{team}"}}' | field id)
EXPERIMENT=$(post experiments "{{\\"project_id\\": \\"$PROJECT\\", \\"name\\": \\"baseline\\"}}" | field id)
RUN=$(post experiments/$EXPERIMENT/runs '{{"name": "run-001", "parameters": {{"lr": 0.001}}}}' | field id)
post runs/$RUN/metrics '{{"metrics": {{"accuracy": 0.91, "loss": 0.23}}, "step": 1}}'"""

PYTHON_TEMPLATE = """import requests

BASE = "{base}/api/v1"
token = requests.post(f"{{BASE}}/auth/token",
                      json={{"username": "{user}", "password": "YOUR-PASSWORD"}}).json()["token"]
api = requests.Session()
api.headers["Authorization"] = f"Bearer {{token}}"

project = api.post(f"{{BASE}}/projects", json={{"name": "my-first-project", "team": "{team}"}}).json()
experiment = api.post(f"{{BASE}}/experiments", json={{"project_id": project["id"], "name": "baseline"}}).json()
run = api.post(f"{{BASE}}/experiments/{{experiment['id']}}/runs",
               json={{"name": "run-001", "parameters": {{"lr": 0.001}}}}).json()
for step in range(1, 11):
    api.post(f"{{BASE}}/runs/{{run['id']}}/metrics",
             json={{"metrics": {{"loss": 1 / step}}, "step": step}}).raise_for_status()
api.patch(f"{{BASE}}/runs/{{run['id']}}", json={{"status": "FINISHED"}})"""
