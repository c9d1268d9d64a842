"""The JSON API on Dash's Flask server: v1 blueprints, error envelope, strict JSON, the /api 404."""
from __future__ import annotations

from flask import request
from flask_openapi3 import OpenAPI
from pydantic import ValidationError

from api import (artifacts, auth_routes, best_run, comparison, health, healthcare, mlflow, notes, projects,
                 resources, runs, streams)
from api.errors import envelope, register_error_handlers, validation_response
from api.json_provider import StrictJSONProvider, check_json_body, reject_nul


def register_api(server: OpenAPI) -> None:
    server.json = StrictJSONProvider(server)
    register_error_handlers(server)
    server.register_error_handler(ValidationError, validation_response)
    server.before_request(reject_nul)
    server.before_request(check_json_body)
    for module in (auth_routes, projects, runs, artifacts, notes, best_run, comparison, healthcare, resources):
        server.register_api(module.blueprint())
    health.register(server)
    streams.register(server)  # WebSocket metric streams
    mlflow.register(server)  # /api/2.0/mlflow compatibility

    @server.route("/api/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @server.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api_not_found(rest: str):  # noqa: ANN202
        return envelope(404, "not_found", f"no API endpoint {request.method} {request.path}")
