"""Live bus protocols: per-scope version counters plus publish/subscribe of ingest events."""
from __future__ import annotations

import json
from typing import Any, Protocol, Sequence, runtime_checkable


class LiveError(Exception):
    """The live backend is unreachable or failed; the message is one line for the operator."""


@runtime_checkable
class Subscription(Protocol):
    """Events for a fixed set of scopes; also a context manager that closes on exit."""

    def get(self, timeout: float) -> dict | None:
        """Next event (decoded dict with an added "scope" key) or None after `timeout` seconds."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> "Subscription": ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class LiveBus(Protocol):
    """Version counters that dashboards poll, and events that streams subscribe to."""

    kind: str  # "memory" | "redis"

    def version(self, scope: str) -> int:
        """Current counter of `scope`; 0 when never bumped."""
        ...

    def versions(self, scopes: Sequence[str]) -> list[int]:
        """Counters of many scopes in one round trip, in the order given."""
        ...

    def bump(self, scopes: Sequence[str], event: dict | None = None) -> list[int]:
        """Increment each scope, publish `event` on each if given; return the new versions."""
        ...

    def subscribe(self, scopes: Sequence[str]) -> Subscription:
        """Receive events bumped on `scopes` from now on."""
        ...

    def ping(self) -> None:
        """Raise LiveError with a one-line reason if the backend is unreachable."""
        ...

    def close(self) -> None: ...


def encode_event(event: dict) -> str:
    """JSON text of an event; values JSON cannot express are turned into strings."""
    return json.dumps(event, default=str, separators=(",", ":"))


def decode_event(payload: str, scope: str) -> dict[str, Any] | None:
    """The event dict with its "scope" set, or None when the payload is not a JSON object."""
    try:
        data = json.loads(payload)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    data["scope"] = scope
    return data


def unique_scopes(scopes: Sequence[str]) -> list[str]:
    """Scopes in first-seen order without duplicates; a bare string is one scope."""
    if isinstance(scopes, str):
        scopes = [scopes]
    return list(dict.fromkeys(scopes))
