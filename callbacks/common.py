"""What every callback needs from the request: the Core, the signed-in actor, this server's address."""
from __future__ import annotations

from dash.exceptions import PreventUpdate
from flask import current_app, g, request

from api.common import CORE_KEY
from services.context import Actor, Core


def core() -> Core:
    return current_app.extensions[CORE_KEY]


def actor() -> Actor:
    """The browser user auth.web's guard put on the request; callbacks never run anonymously."""
    who = g.get("session_actor")
    if who is None:
        raise PreventUpdate
    return who


def base_url() -> str:
    return request.host_url.rstrip("/")
