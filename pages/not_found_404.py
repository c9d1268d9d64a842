"""Any unknown dashboard address."""
from __future__ import annotations

import dash
from dash import html

from components.common import not_found

dash.register_page(__name__, path="/404", title="Not found · Experiment Tracking 2.0")


def layout(**_query: str) -> html.Div:
    return not_found("page")
