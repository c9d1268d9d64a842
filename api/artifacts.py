"""/api/v1/runs/{run_id}/artifacts: register by URI (the seed's body), multipart upload, list, download."""
from __future__ import annotations

import mimetypes
from urllib.parse import quote
from typing import Any

from flask import Response, request, stream_with_context
from flask_openapi3 import APIBlueprint, FileStorage, Tag
from pydantic import BaseModel, Field

from api.common import ERRORS, SECURITY, actor, core, page_reply, reply
from api.json_provider import strict_loads
from api.schemas import ArtifactPath, ArtifactRegister, PageOut, PageQuery, RunPath
from services import artifacts
from services.errors import Invalid


# ?inline=1 serves these as themselves (the run page's image previews); anything else stays a download.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}
# An SVG opened on its own must not run script in this origin.
INLINE_HEADERS = {"X-Content-Type-Options": "nosniff",
                  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"}


class ArtifactUpload(BaseModel):
    file: FileStorage
    name: str | None = Field(None, max_length=500, description="defaults to the uploaded file's name")
    type: str | None = Field("other", max_length=50)
    metadata: str | None = Field(None, description="a JSON object")


def _metadata(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = strict_loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"metadata must be a JSON object: {str(exc)[:200]}", "metadata") from None
    if not isinstance(value, dict):
        raise Invalid("metadata must be a JSON object", "metadata")
    return value


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_artifacts", __name__, url_prefix="/api/v1", abp_responses=ERRORS,
                      abp_security=SECURITY)
    tag = Tag(name="artifacts")

    @bp.post("/runs/<run_id>/artifacts", tags=[tag], responses={201: None})
    def register_artifact(path: RunPath):  # noqa: ANN202
        """JSON body: register an artifact that lives at a URI. multipart/form-data: upload the bytes."""
        if request.mimetype == "multipart/form-data":
            return _upload(path.run_id)
        body = ArtifactRegister.model_validate(request.get_json(silent=True))
        return reply(artifacts.register(core(), actor(), path.run_id, **body.model_dump()), 201)

    @bp.post("/runs/<run_id>/artifacts/upload", tags=[tag], responses={201: None})
    def upload_artifact(path: RunPath, form: ArtifactUpload):  # noqa: ANN202
        """Upload a file (multipart field `file`); stored with its size and sha256."""
        return _upload(path.run_id, form)

    @bp.get("/runs/<run_id>/artifacts", tags=[tag], responses={200: PageOut})
    def list_artifacts(path: RunPath, query: PageQuery):  # noqa: ANN202
        """Artifacts of a run, by name; paged."""
        return page_reply(artifacts.list_artifacts(core(), actor(), path.run_id, query.limit, query.cursor))

    @bp.get("/runs/<run_id>/artifacts/<artifact_id>/content", tags=[tag], responses={200: None})
    def download_artifact(path: ArtifactPath):  # noqa: ANN202
        """Stream the stored bytes (permission-checked); `?inline=1` shows an image in the browser instead."""
        info, chunks = artifacts.open_artifact(core(), actor(), path.run_id, path.artifact_id)
        filename = info["name"].rsplit("/", 1)[-1]
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        inline = request.args.get("inline") == "1" and mime in INLINE_TYPES
        headers = {"Content-Disposition": _disposition(filename, inline), "X-Content-SHA256": info["sha256"],
                   **(INLINE_HEADERS if inline else {})}
        if info["size_bytes"] is not None:
            headers["Content-Length"] = str(info["size_bytes"])
        return Response(stream_with_context(chunks), mimetype=mime, headers=headers)

    return bp


def _disposition(filename: str, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback plus the exact UTF-8 name, so quotes and non-Latin names survive any server."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename) or "download"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _upload(run_id: str, form: ArtifactUpload | None = None) -> Response:
    upload = form.file if form else request.files.get("file")
    if upload is None:
        raise Invalid("multipart upload needs a `file` field", "file")
    fields = form.model_dump(exclude={"file"}) if form else {k: request.form.get(k) for k in ("name", "type",
                                                                                           "metadata")}
    name = fields.get("name") or upload.filename or ""
    result = artifacts.upload(core(), actor(), run_id, name, upload.stream, type=fields.get("type") or "other",
                              metadata=_metadata(fields.get("metadata")),
                              content_type=upload.mimetype or "application/octet-stream")
    return reply(result, 201)
