"""The app shell: navbar (project switcher, search, user menu) around Dash's page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids


def navbar() -> dbc.Navbar:
    switcher = dcc.Dropdown(id=ids.NAV_PROJECT_SWITCH, placeholder="Switch project…", clearable=False,
                            className="nav-switcher", optionHeight=44)
    search = html.Div([dbc.Input(id=ids.NAV_SEARCH, type="search", placeholder="Search projects, experiments, runs",
                                 debounce=0.3, autocomplete="off", size="sm"),
                       html.Div(id=ids.NAV_SEARCH_RESULTS, className="nav-search-results")],
                      className="nav-search")
    user_menu = dbc.DropdownMenu(
        id=ids.NAV_USER_MENU, label=html.Span(id=ids.NAV_USER_NAME), align_end=True, nav=True, in_navbar=True,
        children=[dbc.DropdownMenuItem("API tokens", href="/settings/tokens"),
                  dbc.DropdownMenuItem("Teams", href="/teams"),
                  dbc.DropdownMenuItem(divider=True),
                  dbc.DropdownMenuItem("Sign out", href="/logout", external_link=True, id="nav-logout")])
    return dbc.Navbar(dbc.Container([
        dcc.Link("Experiment Tracking", href="/projects", className="navbar-brand fw-semibold"),
        dbc.Nav([dbc.NavItem(dcc.Link("Projects", href="/projects", className="nav-link"))], navbar=True),
        html.Div([switcher, search], className="d-flex align-items-center gap-2 ms-3 flex-grow-1"),
        dbc.Nav([user_menu], navbar=True, className="ms-auto"),
    ], fluid=True, className="flex-nowrap"), color="white", className="app-navbar border-bottom", dark=False)


def app_layout() -> html.Div:
    """Static shell; everything user-specific is filled by callbacks after the page loads."""
    return html.Div([dcc.Location(id=ids.NAV_LOCATION, refresh="callback-nav"),
                     dcc.Location(id=ids.NAV_PATH, refresh=False), dcc.Store(id=ids.NAV_CURRENT_PROJECT),
                     navbar(),
                     dbc.Container(dash.page_container, fluid=True, className="page-body")])
