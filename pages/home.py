"""Landing page: the project browser (the same view as /projects)."""
from __future__ import annotations

import dash
from dash import html

from components.browser import project_browser

dash.register_page(__name__, path="/", title="Projects · Experiment Tracking 2.0")


def layout(**query: str) -> html.Div:
    return project_browser(query)
