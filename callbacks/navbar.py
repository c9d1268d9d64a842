"""Navbar: user name, project switcher and the name search."""
from __future__ import annotations

import re

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html

from callbacks.common import actor, core
from components import ids
from services import browse, experiments, runs
from services.errors import NotFound

PAGE_PATH = re.compile(r"^/(projects|experiments|runs)/([^/]+)(?:/trends)?/?$")


def fill_navbar(pathname: str | None) -> tuple:
    """On every navigation: switcher options and value, the user's name, and the project the page belongs to
    (the switcher navigates, in the browser, only when its value differs from that)."""
    who = actor()
    options = [{"label": html.Div([html.Div(p["name"], className="switch-name"),
                                   html.Div(p["team"], className="switch-team")]),
                "value": p["id"], "search": f"{p['name']} {p['team']}"}
               for p in browse.project_options(core(), who)]
    project_id = current_project(pathname)
    current = project_id if any(o["value"] == project_id for o in options) else None
    return options, current, who.username, current


def current_project(pathname: str | None) -> str | None:
    """The project a project, experiment or run page belongs to (None elsewhere or when not visible)."""
    match = PAGE_PATH.match(pathname or "")
    if not match:
        return None
    kind, object_id = match.groups()
    try:
        if kind == "runs":
            object_id, kind = runs.get_run(core(), actor(), object_id)["experiment_id"], "experiments"
        if kind == "experiments":
            object_id = experiments.get_experiment(core(), actor(), object_id)["project_id"]
    except NotFound:
        return None
    return object_id


SECTIONS = (("projects", "Projects", "/projects/"), ("experiments", "Experiments", "/experiments/"),
            ("runs", "Runs", "/runs/"))


def search(text: str | None) -> list:
    if not text or not text.strip():
        return []
    found = browse.search(core(), actor(), text)
    blocks = []
    for key, title, prefix in SECTIONS:
        if found[key]:
            blocks.append(html.Div(title, className="search-section"))
            blocks.extend(dcc.Link([html.Span(item["name"], className="search-name"),
                                    html.Span(item["context"], className="search-context")],
                                   href=prefix + item["id"], className="search-item")
                          for item in found[key])
    return blocks or [html.Div(f"Nothing named like “{text.strip()}”.", className="search-empty")]


def register(app: Dash) -> None:
    app.callback(Output(ids.NAV_PROJECT_SWITCH, "options"), Output(ids.NAV_PROJECT_SWITCH, "value"),
                 Output(ids.NAV_USER_NAME, "children"), Output(ids.NAV_CURRENT_PROJECT, "data"),
                 Input(ids.NAV_PATH, "pathname"))(fill_navbar)
    # both in the browser: a page load costs no server round trip for the switcher or the (empty) search box
    app.clientside_callback(ClientsideFunction("et", "switchProject"), Output(ids.NAV_LOCATION, "href",
                                                                              allow_duplicate=True),
                            Input(ids.NAV_PROJECT_SWITCH, "value"), State(ids.NAV_CURRENT_PROJECT, "data"),
                            prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("et", "clearSearch"), Output(ids.NAV_SEARCH, "value"),
                            Input(ids.NAV_PATH, "pathname"), State(ids.NAV_SEARCH, "value"),
                            prevent_initial_call=True)
    app.callback(Output(ids.NAV_SEARCH_RESULTS, "children"), Input(ids.NAV_SEARCH, "value"),
                 prevent_initial_call=True)(search)

