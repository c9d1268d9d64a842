"""MLflow's wire format: request fields (JSON body or query string), replies, and {"error_code", "message"}."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.wrappers import Response

from services.errors import Busy, Forbidden, NotFound, RunLocked, ServiceError, Unauthorized
from services.mlflow_metrics import integer
from services.mlflow_store import AlreadyExists

ERROR_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
               404: "RESOURCE_DOES_NOT_EXIST", 405: "ENDPOINT_NOT_FOUND", 409: "INVALID_PARAMETER_VALUE",
               413: "INVALID_PARAMETER_VALUE", 429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR",
               503: "TEMPORARILY_UNAVAILABLE"}


class BadRequest(ServiceError):
    status = 400
    code = "INVALID_PARAMETER_VALUE"


class Malformed(ServiceError):
    status = 400
    code = "MALFORMED_REQUEST"


def error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error_code": code, "message": message})
    response.status_code = status
    return response


def service_error(exc: ServiceError) -> Response:
    """Our domain errors with MLflow's codes; a client mistake is always a 4xx, never a retried 5xx."""
    if isinstance(exc, (AlreadyExists, BadRequest, Malformed)):
        return error(exc.status, exc.code, exc.message)
    if isinstance(exc, NotFound):
        return error(404, "RESOURCE_DOES_NOT_EXIST", exc.message)
    if isinstance(exc, Unauthorized):
        return error(401, "UNAUTHENTICATED", exc.message)
    if isinstance(exc, Forbidden):
        return error(403, "PERMISSION_DENIED", exc.message)
    if isinstance(exc, Busy):
        return error(429, "REQUEST_LIMIT_EXCEEDED", exc.message)
    if isinstance(exc, RunLocked):
        return error(400, "INVALID_STATE", exc.message)
    return error(400, "INVALID_PARAMETER_VALUE", exc.message)


def translate_envelope(response: Response) -> Response:
    """A response made outside our views (auth guard, JSON check, size limit) in our v1 envelope → MLflow's."""
    if response.status_code < 400 or not response.is_json:
        return response
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or "error_code" in body or not isinstance(body.get("error"), dict):
        return response
    status = 400 if response.status_code == 409 else response.status_code
    code = ERROR_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "INVALID_PARAMETER_VALUE")
    if body["error"].get("code") == "invalid_json":
        code = "MALFORMED_REQUEST"
    translated = error(status, code, str(body["error"].get("message", "")))
    for name in ("Retry-After", "WWW-Authenticate"):
        if name in response.headers:
            translated.headers[name] = response.headers[name]
    return translated


def fields() -> dict[str, Any]:
    """The request message: the query string for GET, else the JSON body (an object; empty means {})."""
    if request.method == "GET":
        return request.args.to_dict()
    if not request.get_data(cache=True).strip():
        return {}
    try:
        data = request.get_json(force=True)
    except Exception:  # werkzeug wraps the decoder's message
        raise Malformed("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Malformed("the request body must be a JSON object")
    return data


def text(data: dict, name: str, required: bool = True, *aliases: str) -> str | None:
    value = data.get(name)
    for alias in aliases:
        if value in (None, ""):
            value = data.get(alias)
    if value in (None, ""):
        if required:
            raise BadRequest(f"Missing value for required parameter '{name}'.")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadRequest(f"Invalid value {str(value)[:60]!r} for parameter '{name}' supplied: expected a string.")
    return str(value)


def run_id(data: dict) -> str:
    return text(data, "run_id", True, "run_uuid")  # type: ignore[return-value]


def optional_int(data: dict, name: str) -> int | None:
    raw = data.get(name)
    return None if raw in (None, "") else integer(raw, name)


def string_list(data: dict, name: str) -> list[str]:
    value = data.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"Invalid value for parameter '{name}' supplied: expected a list of strings.")
    return value


def key_values(data: dict, name: str) -> list[tuple[str, str]]:
    """[{"key": k, "value": v}, ...] → [(k, v)]; a missing value is the empty string (proto default)."""
    items = data.get(name) or []
    if not isinstance(items, list):
        raise BadRequest(f"Invalid value for parameter '{name}' supplied: expected a list.")
    pairs = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise BadRequest(f"Invalid value for parameter '{name}' supplied: entries need a string 'key'.")
        value = item.get("value", "")
        if not isinstance(value, str):
            raise BadRequest(f"Invalid value for parameter '{name}' supplied: {item['key']!r} needs a string value.")
        pairs.append((item["key"], value))
    return pairs


def reply(data: dict | None = None) -> Response:
    return jsonify(data or {})
