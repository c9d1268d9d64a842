"""What every API view needs: the Core, the acting user, JSON responses and the standard error responses."""
from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify
from flask.wrappers import Response

from api.schemas import ErrorEnvelope
from services.context import Actor, Core
from services.errors import Unauthorized

CORE_KEY = "et_core"
TOO_LARGE = {"description": "The request body is larger than MAX_REQUEST_BYTES (default 32 MiB); nothing was written",
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
ERRORS = {400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope, 409: ErrorEnvelope,
          413: TOO_LARGE}
SECURITY = [{"bearer": []}]


def core() -> Core:
    return current_app.extensions[CORE_KEY]


def actor() -> Actor:
    who = g.get("actor")
    if who is None:
        raise Unauthorized("send Authorization: Bearer <token>")
    return who


def reply(data: Any, status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response


def page_reply(page: Any) -> Response:
    return reply(page.to_dict())
