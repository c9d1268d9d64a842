"""Live metric streams: permission-checked subscriptions to the live bus, shaped as the seed's messages.

A stream follows one scope of the bus: f"run:{id}" (every batch logged to that run) or f"exp:{id}" (every batch
logged to any run of the experiment). services.metrics.log_points publishes one event per batch after its commit;
a stream turns each into {"run_id", "metrics": {"step", key: value, ...}, "timestamp"}: the latest step of the
batch with every value logged at that step. Other events on the same scopes (run updates, notes, artifacts) are
skipped. With REDIS_URL set the bus is Redis pub/sub, so a stream on one worker sees batches posted to any worker.

No Flask here: api.streams owns the WebSocket, this module owns who may listen and what they receive.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from services import accounts
from services.access import require_experiment, require_run
from services.context import Actor, Core
from services.errors import NotFound, ServiceError

KINDS = ("run", "experiment")
RECHECK_SECONDS = 30.0  # how often a long-lived stream re-reads the user's access (revoked roles, deleted runs)
MESSAGE_KEYS = ("run_id", "metrics", "timestamp")


class StreamSlots:
    """A per-process bound on open streams; acquire() never blocks, so the caller can refuse at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._active = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def acquire(self) -> bool:
        with self._lock:
            if self._active >= self.limit:
                return False
            self._active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._active = max(0, self._active - 1)


def scope_of(kind: str, target_id: str) -> str:
    return f"run:{target_id}" if kind == "run" else f"exp:{target_id}"


def check_access(core: Core, actor: Actor, kind: str, target_id: str) -> None:
    """NotFound unless the actor may see the run or experiment (viewer is enough; no existence leak)."""
    if kind not in KINDS:
        raise ValueError(f"unknown stream kind {kind!r}")
    with core.sessions() as session:
        if kind == "run":
            require_run(session, actor, target_id)
        else:
            require_experiment(session, actor, target_id)


def message(event: dict[str, Any]) -> dict[str, Any] | None:
    """The seed's message for a "metrics" bus event, or None for any other event (or a malformed one)."""
    if not isinstance(event, dict) or event.get("type") != "metrics":
        return None
    run_id, metrics, timestamp = event.get("run_id"), event.get("metrics"), event.get("timestamp")
    if not isinstance(run_id, str) or not isinstance(metrics, dict) or "step" not in metrics:
        return None
    return {"run_id": run_id, "metrics": metrics, "timestamp": timestamp}


@dataclass
class Stream:
    """An open subscription for one actor; close() (or the with-block) unsubscribes."""

    core: Core
    actor: Actor
    kind: str
    target_id: str
    subscription: Any
    recheck_seconds: float = RECHECK_SECONDS
    _next_check: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._next_check = time.monotonic() + self.recheck_seconds

    def next_message(self, timeout: float) -> dict[str, Any] | None:
        """The next seed-shaped message within `timeout` seconds, else None. Raises live.LiveError if the bus
        failed, NotFound once the actor can no longer see the target (checked every recheck_seconds)."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            self._recheck_if_due()
            remaining = deadline - time.monotonic()
            event = self.subscription.get(max(min(remaining, self.recheck_seconds), 0.0))
            if event is not None:
                shaped = message(event)
                if shaped is not None:
                    return shaped
            if deadline - time.monotonic() <= 0:
                return None

    def _recheck_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.recheck_seconds
        fresh = accounts.load_actor(self.core, self.actor.user_id)
        if fresh is None:
            raise NotFound(f"{self.kind} {self.target_id} not found", f"{self.kind}_id")
        self.actor = fresh
        check_access(self.core, fresh, self.kind, self.target_id)

    def close(self) -> None:
        self.subscription.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stream(core: Core, actor: Actor, kind: str, target_id: str,
                recheck_seconds: float | None = None) -> Stream:
    """Check access, then subscribe (NotFound before any subscription; live.LiveError if the bus refuses)."""
    check_access(core, actor, kind, target_id)
    subscription = core.bus.subscribe([scope_of(kind, target_id)])
    return Stream(core, actor, kind, target_id, subscription,
                  RECHECK_SECONDS if recheck_seconds is None else recheck_seconds)


def error_frame(exc: ServiceError) -> dict[str, Any]:
    """The API's error envelope, sent as the last text frame before a stream is closed."""
    return exc.to_dict()


def close_code(status: int) -> int:
    """WebSocket close code for an HTTP-like status: 4000 + status (4404, 4429, ...), the common convention."""
    return 4000 + status

