"""Strict JSON parsing for request bodies: duplicate keys and NaN/Infinity literals are client errors."""
from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider


class DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"duplicate key {key!r} in JSON object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


def strict_loads(text: str | bytes) -> Any:
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s)


def check_json_body() -> Any:
    """Before an API view: a JSON body must parse strictly, so the client hears exactly what is wrong."""
    from flask import request

    from api.errors import envelope

    if not request.path.startswith("/api/") or request.method not in ("POST", "PUT", "PATCH"):
        return None
    if request.mimetype == "application/json":
        try:
            request.get_json()
        except Exception as exc:  # werkzeug BadRequest wraps the decoder's message
            detail = getattr(exc, "description", str(exc))
            return envelope(400, "invalid_json", f"request body is not valid JSON: {detail}")
    return None
