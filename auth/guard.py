"""The request guard: resolves the acting user from a bearer token before any API view runs."""
from __future__ import annotations

import base64
import hashlib

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


def basic_actor(server: Flask) -> tuple[bool, object]:
    """HTTP Basic (the mlflow client's MLFLOW_TRACKING_USERNAME/PASSWORD): (sent?, actor or None); a hit is
    cached as briefly as a token, so password hashing does not run on every request."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False, None
    try:
        username, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return True, None
    core = server.extensions[CORE_KEY]
    key = "basic:" + hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()
    actor = core.cache.get(key)
    if actor is None and sep:
        actor = accounts.authenticate(core, username, password)
        if actor is not None:
            core.cache.set(key, actor, timeout=accounts.TOKEN_CACHE_SECONDS)
    return True, actor


def resolve_actor(server: Flask) -> Response | None:
    """Set g.actor for /api requests; answer 401 when the token is missing, unknown or revoked."""
    if not request.path.startswith("/api/") or request.path in PUBLIC_API:
        return None
    token = bearer_token()
    sent_basic, actor = (False, None) if token else basic_actor(server)
    if sent_basic:
        if actor is None:
            return envelope(401, "unauthorized", "unknown username or password")
        g.actor = actor
        return None
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
