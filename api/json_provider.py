"""Strict JSON for request bodies: duplicate keys, NaN/Infinity, overflowing numbers and NUL are client errors."""
from __future__ import annotations

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest


class StrictJSONError(ValueError):
    """A body that parses as JSON but breaks our rules; `field` is the dotted path of the offending value."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


DuplicateKeyError = StrictJSONError  # the old name, kept for importers


class _Flagged:
    """Stands in for a rejected value while parsing, so the walk afterwards can say where it was."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _parse(text: str | bytes) -> tuple[Any, bool]:
    flagged: list[bool] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                flagged.append(True)
                value = _Flagged(f"duplicate key {key[:60]!r} in a JSON object")
            result[key] = value
        return result

    def constant(name: str) -> Any:
        flagged.append(True)
        return _Flagged(f"{name} is not a number; values must be finite")

    def number(raw: str) -> Any:
        value = float(raw)
        if math.isfinite(value):
            return value
        flagged.append(True)
        return _Flagged(f"{raw[:40]} is too large for a number")

    value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_float=number)
    return value, bool(flagged)


def _find(value: Any, path: tuple[str, ...], check_nul: bool) -> tuple[str, tuple[str, ...]] | None:
    """Depth-first: the first flagged value (or string with a NUL character) and its path."""
    if isinstance(value, _Flagged):
        return value.problem, path
    if isinstance(value, str):
        return ("text must not contain NUL (\\u0000) characters", path) if check_nul and "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if check_nul and "\x00" in key:
                return "keys must not contain NUL (\\u0000) characters", path
            found = _find(item, (*path, key), check_nul)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find(item, (*path, f"[{index}]"), check_nul)
            if found:
                return found
    return None


def strict_loads(text: str | bytes) -> Any:
    """json.loads that raises StrictJSONError (naming the field) for what a tracker must never store."""
    value, flagged = _parse(text)
    marks = ("u0000", "U0000") if isinstance(text, str) else (b"u0000", b"U0000")
    check_nul = any(mark in text for mark in marks)  # type: ignore[operator]
    if flagged or check_nul:
        found = _find(value, (), check_nul)
        if found:
            message, path = found
            field = ".".join(path).replace(".[", "[") or None
            raise StrictJSONError(f"{field}: {message}" if field else message, field)
    return value


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s)


def reject_nul() -> Any:
    """Before an API view: NUL in the path or query string is a client error (Postgres text cannot hold it)."""
    from flask import request

    from api.errors import envelope

    if not request.path.startswith("/api/"):
        return None
    if "\x00" in request.path:
        return envelope(400, "validation_error", "the URL path must not contain NUL (%00) characters")
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            return envelope(400, "validation_error", f"query parameter {key!r} must not contain NUL (%00) characters",
                            key.replace("\x00", "") or None)
    return None


RAW_BODY_PREFIXES = ("/api/2.0/mlflow-artifacts/",)  # artifact bytes, whatever their content type says


def check_json_body() -> Any:
    """Before an API view: a JSON body must parse strictly, so the client hears exactly what is wrong."""
    from flask import request

    from api.errors import envelope

    if not request.path.startswith("/api/") or request.method not in ("POST", "PUT", "PATCH"):
        return None
    if request.path.startswith(RAW_BODY_PREFIXES) or not request.is_json:
        return None
    try:
        body = request.get_json()  # parsed once and cached for the view; 413 past MAX_CONTENT_LENGTH
    except BadRequest as exc:
        cause = _decoder_error(exc)
        if isinstance(cause, StrictJSONError):
            return envelope(400, "invalid_json", f"request body is not acceptable JSON: {cause.message}", cause.field)
        if not request.get_data(cache=True).strip():
            return envelope(400, "invalid_json", "the request body is empty; send a JSON object")
        return envelope(400, "invalid_json", f"request body is not valid JSON: {str(cause)[:200]}")
    except RecursionError:
        return envelope(400, "invalid_json", "request body is nested too deeply")
    if request.path.startswith("/api/v1/") and not isinstance(body, dict):
        return envelope(400, "validation_error", "the request body must be a JSON object")
    return None


def _decoder_error(exc: BaseException) -> BaseException:
    """Flask wraps the decoder's ValueError in one or two BadRequests; dig it out for the message."""
    seen = exc
    for _ in range(5):
        nxt = seen.__cause__ or seen.__context__
        if nxt is None:
            break
        seen = nxt
        if not isinstance(seen, BadRequest):
            return seen
    return exc
