"""Landing page: where the dashboard starts (the full project browser lives in pages/projects.py)."""
from __future__ import annotations

import dash
from dash import html

dash.register_page(__name__, path="/", title="Experiment Tracking 2.0")


def layout(**_query: str) -> html.Div:
    return html.Div([html.H1("Experiment Tracking 2.0"),
                     html.P("The API is at /api/v1 (see /docs). Log a first run with a token from "
                            "POST /api/v1/auth/token.")], className="py-4")
