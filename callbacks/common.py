"""What every callback needs from the request: the Core, the signed-in actor, this server's address."""
from __future__ import annotations

from typing import Any, Callable

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


def initial_content(build: Callable[..., Any], *args: Any) -> Any:
    """A page's content built in the page's own request (Dash pages call layouts from their routing callback),
    so it arrives one round trip sooner than from a follow-up callback; None outside a signed-in request
    (layout validation), where the page then stays empty."""
    try:
        return build(*args)
    except (PreventUpdate, RuntimeError):  # no signed-in actor / no application context
        return None

