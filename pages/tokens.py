"""/tokens: the signed-in user's API tokens (create, see once, revoke)."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.common import page_header

dash.register_page(__name__, path="/settings/tokens",
                   title="API tokens · Experiment Tracking 2.0")


def layout(**_query: str) -> html.Div:
    form = dbc.InputGroup([dbc.Input(id=ids.TOKEN_NAME, placeholder="What is it for? e.g. training-cluster",
                                     maxLength=100),
                           dbc.Button("Create token", id=ids.TOKEN_CREATE, color="primary")],
                          className="mb-3", style={"maxWidth": "560px"})
    hint = ("Send one as the header Authorization: Bearer <token> from training code or scripts. "
            "A token acts as you; revoke it when it leaks.")
    return html.Div([page_header("API tokens", hint),
                     form, html.Div(id=ids.TOKEN_CREATED), dcc.Store(id=ids.TOKENS_REFRESH, data=0),
                     html.Div(id=ids.TOKENS_LIST)])
