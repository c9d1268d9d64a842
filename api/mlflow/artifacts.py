"""/api/2.0/mlflow-artifacts/artifacts: MLflow's artifact proxy (PUT a file, GET it back, GET ?path= to list)."""
from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, request, stream_with_context

from api.common import actor, core
from api.mlflow.wire import error, reply
from services import mlflow_artifacts

ORIGINAL_CONTENT_TYPE = "et.mlflow_artifact_content_type"
MAX_ARTIFACT_BYTES = 1 << 40  # the proxy streams into the store; MAX_REQUEST_BYTES is for API bodies


def opaque_upload_body() -> None:
    """Runs before every other request hook: an artifact PUT carries file bytes, whatever its Content-Type says
    (a .json artifact comes as application/json), so the API's strict JSON body check must not parse it."""
    if request.method == "PUT" and request.path.startswith("/api/2.0/mlflow-artifacts/artifacts/"):
        request.environ[ORIGINAL_CONTENT_TYPE] = request.environ.get("CONTENT_TYPE", "")
        request.environ["CONTENT_TYPE"] = "application/octet-stream"


def blueprint() -> Blueprint:
    bp = Blueprint("mlflow_artifacts", __name__, url_prefix="/api/2.0/mlflow-artifacts")

    @bp.put("/artifacts/<path:path>")
    def upload(path: str) -> Response:
        request.max_content_length = MAX_ARTIFACT_BYTES
        content_type = request.environ.get(ORIGINAL_CONTENT_TYPE) or "application/octet-stream"
        mlflow_artifacts.upload(core(), actor(), path, request.stream, content_type.split(";")[0].strip())
        return reply()

    @bp.get("/artifacts/<path:path>")
    def download(path: str) -> Response:
        info, chunks = mlflow_artifacts.open_file(core(), actor(), path)
        filename = info["name"].rsplit("/", 1)[-1]
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if info["size_bytes"] is not None:
            headers["Content-Length"] = str(info["size_bytes"])
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return Response(stream_with_context(chunks), mimetype=mime, headers=headers)

    @bp.get("/artifacts")
    def listing() -> Response:
        return reply({"files": mlflow_artifacts.list_proxy(core(), actor(), request.args.get("path", ""))})

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def not_found(rest: str) -> Response:
        return error(404, "ENDPOINT_NOT_FOUND", f"this server does not implement /api/2.0/mlflow-artifacts/{rest}")

    return bp
