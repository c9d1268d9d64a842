"""MLflow REST compatibility: /api/2.0/mlflow (tracking) and /api/2.0/mlflow-artifacts (artifact proxy), so the
mlflow client works with MLFLOW_TRACKING_URI pointing here. Errors use MLflow's {"error_code", "message"}."""
from __future__ import annotations

from flask import Flask

from api.mlflow import artifacts, tracking, ui_links
from api.mlflow.wire import service_error, translate_envelope
from services.errors import ServiceError


def register(server: Flask) -> None:
    for bp in (tracking.blueprint(), artifacts.blueprint()):
        bp.register_error_handler(ServiceError, service_error)
        bp.after_request(translate_envelope)
        server.register_blueprint(bp)
    server.before_request_funcs.setdefault(None, []).insert(0, artifacts.opaque_upload_body)
    ui_links.register(server)
