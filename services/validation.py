"""Domain rules shared by every entry point (REST v1, MLflow compat, dashboard): names, keys, numbers, times."""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone

from services.errors import Invalid

MAX_KEY = 250
MAX_NAME = 200
MAX_TAG = 100
MAX_PARAM_VALUE = 6000
_NAME_RE = re.compile(r"^[\w][\w .\-/:+@()\[\]]*$")
_KEY_RE = re.compile(r"^[\w][\w .\-/:]*$")


def name(value: str, field: str, max_len: int = MAX_NAME) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"{field} must not be empty", field)
    if len(value) > max_len:
        raise Invalid(f"{field} is longer than {max_len} characters", field)
    if not _NAME_RE.match(value):
        raise Invalid(f"{field} {value!r} may contain letters, digits, space and . - _ / : + @ ( ) [ ] only", field)
    if any(part.strip() in ("", ".", "..") for part in value.split("/")):
        raise Invalid(f"{field} {value!r} must not have an empty, '.' or '..' part between slashes", field)
    return value


def key(value: str, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"{field}: key must be a non-empty string", field)
    if len(value) > MAX_KEY:
        raise Invalid(f"{field}: key {value[:40]!r}... is longer than {MAX_KEY} characters", field)
    if not _KEY_RE.match(value):
        raise Invalid(f"{field}: key {value!r} may contain letters, digits, space and . - _ / : only", field)
    return value


def tags(values: list[str] | None, field: str = "tags") -> list[str]:
    cleaned: list[str] = []
    for raw in values or []:
        tag = name(raw, field, MAX_TAG)
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def finite(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"{field} must be a number", field)
    number = float(value)
    if not math.isfinite(number):
        raise Invalid(f"{field} must be a finite number (NaN and infinity are not accepted)", field)
    return number


def timestamp_ms(value: str | int | float | datetime | None, field: str, default: int) -> int:
    """ISO 8601 string, epoch milliseconds or datetime → epoch ms; None → default."""
    if value is None:
        return default
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    if isinstance(value, bool):
        raise Invalid(f"{field} must be an ISO 8601 time or epoch milliseconds", field)
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 0 <= value < 2**53:
            raise Invalid(f"{field} is out of range", field)
        return int(value)
    try:
        return timestamp_ms(datetime.fromisoformat(str(value).replace("Z", "+00:00")), field, default)
    except ValueError:
        raise Invalid(f"{field} {str(value)[:40]!r} is not an ISO 8601 time", field) from None


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def param_value(value: object, field: str) -> tuple[str, float | None]:
    """Params are stored as text plus a numeric copy for sorting; nested values become JSON."""
    if isinstance(value, bool):
        text, number = str(value).lower(), None
    elif isinstance(value, (int, float)):
        if not math.isfinite(float(value)):
            raise Invalid(f"{field} must be a finite number", field)
        text, number = repr(value) if isinstance(value, float) else str(value), float(value)
    elif isinstance(value, str):
        text, number = value, _maybe_number(value)
    elif value is None:
        text, number = "", None
    else:
        text, number = json.dumps(value, sort_keys=True), None
    if len(text) > MAX_PARAM_VALUE:
        raise Invalid(f"{field} is longer than {MAX_PARAM_VALUE} characters", field)
    return text, number


def _maybe_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
