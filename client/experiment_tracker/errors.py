"""Errors the client raises: the server's {"error": {code, message, field}} and an unreachable server."""
from __future__ import annotations

from typing import Any, Optional


class TrackerError(Exception):
    """The server refused a request (4xx/5xx) or answered something that is not the API."""

    def __init__(self, message: str, status: Optional[int] = None, code: Optional[str] = None,
                 field: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.field = field

    @classmethod
    def from_response(cls, response: Any) -> "TrackerError":
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        message = error.get("message") or f"HTTP {response.status_code} from {response.request.method} {response.url}"
        kind = NotFoundError if response.status_code == 404 else cls
        return kind(message, response.status_code, error.get("code"), error.get("field"))

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        status = f"{self.status} {self.code}: " if self.status else ""
        return f"{status}{self.message}{where}"


class NotFoundError(TrackerError):
    """404: the object does not exist or is not visible to you."""


class ServerUnreachable(TrackerError):
    """No answer from the server after the retries (connection refused, reset, timed out, 5xx)."""
