"""Opaque cursors and the page shape every list endpoint returns."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from services.errors import Invalid

MAX_LIMIT = 1000
MAX_OFFSET = 2**31  # far past any real list; keeps a forged cursor inside the databases' integer range


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None = None
    total: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor, "total": self.total, **self.extra}


def encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this server issued", "cursor") from None
    if not isinstance(state, dict):
        raise Invalid("cursor is not one this server issued", "cursor")
    return state


def offset_from(cursor: str | None) -> int:
    offset = decode_cursor(cursor).get("o", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise Invalid("cursor is not one this server issued", "cursor")
    return offset


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    return limit


def offset_page(rows: list[Any], offset: int, limit: int, total: int | None) -> Page:
    """rows were fetched with limit + 1 so we know whether a next page exists."""
    more = len(rows) > limit
    return Page(items=rows[:limit], next_cursor=encode_cursor({"o": offset + limit}) if more else None, total=total)
