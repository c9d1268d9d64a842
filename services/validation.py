"""Domain rules shared by every entry point (REST v1, MLflow compat, dashboard): names, keys, numbers, times."""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone

from services.errors import Invalid

MAX_KEY = 250
MAX_NAME = 200
MAX_TAG = 100
MAX_PARAM_VALUE = 6000
MIN_EPOCH_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant an ISO 8601 year can name
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
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
        return (moment - EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, bool):
        raise Invalid(f"{field} must be an ISO 8601 time or epoch milliseconds", field)
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 0 <= value <= MAX_EPOCH_MS:
            raise Invalid(f"{field} is out of range (epoch milliseconds from 0 to {MAX_EPOCH_MS})", field)
        return int(value)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{field} {str(value)[:40]!r} is not an ISO 8601 time", field) from None
    ms = timestamp_ms(moment, field, default)
    if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:  # e.g. 9999-12-31T23:59:59-12:00 lies past the year 9999
        raise Invalid(f"{field} {str(value)[:40]!r} is out of range", field)
    return ms


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return (EPOCH + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")


def param_value(value: object, field: str) -> tuple[str, float | None]:
    """Params are stored as text plus a numeric copy for sorting; nested values become JSON."""
    if isinstance(value, bool):
        text, number = str(value).lower(), None
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(f"{field} must be a finite number", field)
        text, number = repr(value), value
    elif isinstance(value, int):
        text, number = str(value), _maybe_number(str(value))
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
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
