"""Browser sessions: flask-login wiring, the login form and the guard for pages and Dash callbacks."""
from __future__ import annotations

from flask import Flask


def install(server: Flask) -> None:
    """Attach login, logout and the session guard to the server."""
