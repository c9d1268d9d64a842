"""Every API failure as {"error": {"code", "message", "field"}}: service errors, HTTP errors, validation."""
from __future__ import annotations

import logging
import re

from flask import Flask, jsonify, make_response, request
from flask.wrappers import Response
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from services.errors import ServiceError
from storage import StorageError

log = logging.getLogger(__name__)
API_PREFIXES = ("/api/",)


def envelope(status: int, code: str, message: str, field: str | None = None) -> Response:
    body: dict = {"code": code, "message": message}
    if field:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    return response


_UNION_MEMBER = re.compile(r"^(str|int|float|bool|none|bytes|list|dict|(list|dict|nullable|tuple|set|function-\w+|"
                           r"constrained-\w+)\[.*\])$")


def error_field(loc: tuple) -> str | None:
    """pydantic's loc as the client's path: list indices as [i], union-member tags such as 'dict[str,str]' dropped."""
    field = ""
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]"
        elif not _UNION_MEMBER.match(str(part)):
            field += f".{part}" if field else str(part)
    return field or None


def validation_response(exc: ValidationError) -> Response:
    """flask-openapi3 hands pydantic's errors here; answer with the first field's errors, naming the field."""
    errors = exc.errors(include_url=False)
    field = error_field(tuple(errors[0].get("loc", ())))
    messages = list(dict.fromkeys(str(e.get("msg")) for e in errors if error_field(tuple(e.get("loc", ()))) == field))
    message = " or ".join(messages)
    message = f"{field}: {message}" if field else message
    if errors[0].get("type") == "model_type" and not field:
        message = "the request body must be a JSON object"
    return make_response(envelope(400, "validation_error", message, field))


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIXES)


def register_error_handlers(server: Flask) -> None:
    @server.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return envelope(exc.status, exc.code, exc.message, exc.field)

    @server.errorhandler(StorageError)
    def _storage_error(exc: StorageError) -> Response:
        log.error("artifact store failure: %s", exc)
        return envelope(503, "storage_unavailable", f"artifact store unavailable: {exc}")

    @server.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # noqa: ANN202
        if not is_api_request():
            return exc
        if exc.response is not None and exc.response.mimetype == "application/json":
            return exc.response
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 413:
            message = "request body is larger than the documented limit (MAX_REQUEST_BYTES)"
        return envelope(exc.code or 500, code, message)

    @server.errorhandler(Exception)
    def _unexpected(exc: Exception):  # noqa: ANN202
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not is_api_request():
            raise exc
        return envelope(500, "internal_error", "internal server error; the incident was logged")
