"""/projects: the project browser (filters in the URL, sortable table, create project)."""
from __future__ import annotations

import dash
from dash import html

from components.browser import project_browser

dash.register_page(__name__, path="/projects", title="Projects · Experiment Tracking 2.0")


def layout(**query: str) -> html.Div:
    return project_browser(query)
