"""The request guard: resolves the acting user from a bearer token before any API view runs."""
from __future__ import annotations

from flask import Flask, g, request
from flask.wrappers import Response

from api.common import CORE_KEY
from api.errors import envelope
from services import accounts

PUBLIC_API = {"/api/v1/auth/token"}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def resolve_actor(server: Flask) -> Response | None:
    """Set g.actor for /api requests; answer 401 when the token is missing, unknown or revoked."""
    if not request.path.startswith("/api/") or request.path in PUBLIC_API:
        return None
    token = bearer_token()
    if token is None:
        session_actor = g.get("session_actor")
        if session_actor is not None:
            g.actor = session_actor
            return None
        return envelope(401, "unauthorized", "send Authorization: Bearer <token> (POST /api/v1/auth/token gives one)")
    actor = accounts.actor_for_token(server.extensions[CORE_KEY], token)
    if actor is None:
        return envelope(401, "unauthorized", "the token is unknown, expired or revoked")
    g.actor = actor
    return None


def install(server: Flask) -> None:
    server.before_request(lambda: resolve_actor(server))
