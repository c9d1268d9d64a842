"""Liveness, readiness and the OpenAPI aliases (/openapi.json, /docs)."""
from __future__ import annotations

from flask import Flask, redirect
from sqlalchemy import text

from api.common import CORE_KEY
from api.errors import envelope
from api.common import reply


def register(server: Flask) -> None:
    @server.get("/healthz")
    def healthz():  # noqa: ANN202
        return reply({"status": "ok"})

    @server.get("/readyz")
    def readyz():  # noqa: ANN202
        try:
            with server.extensions[CORE_KEY].sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not ready"
            return envelope(503, "database_unavailable", f"database unreachable: {type(exc).__name__}")
        return reply({"status": "ready"})

    @server.get("/openapi.json")
    def openapi_json():  # noqa: ANN202
        return reply(server.api_doc)

    @server.get("/docs")
    def docs():  # noqa: ANN202
        return redirect("/openapi/swagger")
