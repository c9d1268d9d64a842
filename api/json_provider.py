"""Strict JSON for request bodies: duplicate keys, NaN/Infinity, overflowing numbers and NUL are client errors."""
from __future__ import annotations

import json
import math
from itertools import chain
from typing import Any

import orjson
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


class _Unsure(Exception):
    """The fast parse cannot vouch for a body; the strict parse decides."""


def _refuse(raw: str) -> Any:
    raise _Unsure(raw)


def _finite(raw: str) -> float:
    value = float(raw)
    if value - value == 0:  # inf - inf is NaN
        return value
    raise _Unsure(raw)


_UNSURE = object()
_WHITESPACE = b" \t\n\r"  # JSON's; a key's closing quote may be followed by these before its ':'
_DIGITS = bytes.maketrans(b"123456789E", b"000000000e")  # and signs dropped: 1E+308 and 1e-400 read e000
_BIG = (b"e000", b"0" * 200)  # a number can overflow only with a 3-digit exponent or 200+ digits
_LONG = b"0" * 19  # orjson reads an integer past 64 bits as a float, Python's json as an int: those go to json
_PLAIN = json.JSONDecoder(parse_constant=_refuse)
_FINITE = json.JSONDecoder(parse_constant=_refuse, parse_float=_finite)


def _fast(text: str | bytes) -> Any:
    """orjson (or json's C parser without the per-object hook), or _UNSURE. NaN/Infinity stop it, and so does an
    overflowing number where the text could hold one. A duplicate key is ruled out by counting: with no backslash every
    '"' delimits a string, so '":' (whitespace removed) occurs once per key/value pair, plus once per string
    starting with ':'; when that count equals the number of distinct keys in the parsed objects, no object
    repeated a key."""
    if type(text) is bytes and json.detect_encoding(text) == "utf-8":
        raw, text = text, text.decode("utf-8", "surrogatepass")  # as json.loads decodes bytes
    elif type(text) is str and not text.startswith("\ufeff"):
        raw = text.encode("utf-8", "surrogatepass")
    else:
        return _UNSURE
    if b"\\" in raw:
        return _UNSURE
    squeezed = raw.translate(_DIGITS, _WHITESPACE + b"+-")
    try:
        if _may_overflow(raw, squeezed):
            value = _FINITE.decode(text)
        elif _LONG in squeezed:
            value = _PLAIN.decode(text)
        else:
            value = orjson.loads(raw)  # the same values as json's C parser, in a third of its time
    except (_Unsure, ValueError, RecursionError):  # the strict parse raises the same errors with its words
        return _UNSURE
    return value if _distinct_keys(value, raw.count(b"{")) == squeezed.count(b'":') else _UNSURE


def _may_overflow(raw: bytes, squeezed: bytes) -> bool:
    """Whether a number outside the strings could overflow. Only when the whole text shows a mark are the strings
    (between quote pairs: there is no backslash) cut out, so an id like "…e123…" does not slow every batch."""
    if not any(mark in squeezed for mark in _BIG):
        return False
    outside = b" ".join(raw.split(b'"')[::2]).translate(_DIGITS, _WHITESPACE + b"+-")
    return any(mark in outside for mark in _BIG)


def _distinct_keys(value: Any, objects: int) -> int:
    """Keys of the parsed objects, level by level in C loops; stops once `objects` (at least the number of
    objects: each opens with '{') are found, so the scalars under the deepest objects are never visited."""
    keys = found = 0
    level = [value]
    while level:
        kinds = set(map(type, level))
        dicts = level if kinds == {dict} else [x for x in level if type(x) is dict] if dict in kinds else []
        found += len(dicts)
        keys += sum(map(len, dicts))
        if found >= objects:
            break
        lists = [x for x in level if type(x) is list] if list in kinds else []
        level = [*chain.from_iterable(map(dict.values, dicts)), *chain.from_iterable(lists)]
    return keys


def strict_loads(text: str | bytes) -> Any:
    """json.loads that raises StrictJSONError (naming the field) for what a tracker must never store. Bodies
    the fast parse vouches for skip the Python hooks; the result is the same either way."""
    value = _fast(text)
    flagged = False
    if value is _UNSURE:
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
