"""In-process live bus for a single worker: counters under a Condition, one bounded queue per subscriber."""
from __future__ import annotations

import queue
import threading
import time
from typing import Sequence

from .base import Subscription, decode_event, encode_event, unique_scopes

DEFAULT_QUEUE_SIZE = 1000


class MemorySubscription:
    """A subscriber's bounded queue; when full the oldest event is dropped so publishers never block."""

    def __init__(self, bus: "MemoryBus", scopes: list[str], maxsize: int) -> None:
        self._bus = bus
        self.scopes = scopes
        self._queue: queue.Queue[dict] = queue.Queue(maxsize=maxsize)
        self.dropped = 0
        self._closed = False

    def offer(self, event: dict) -> None:
        """Enqueue without blocking, discarding the oldest events while the queue is full."""
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        try:
            self._queue.get_nowait()
            self.dropped += 1
        except queue.Empty:
            pass

    def get(self, timeout: float) -> dict | None:
        if self._closed:
            return None
        try:
            if timeout > 0:
                return self._queue.get(timeout=timeout)
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._unsubscribe(self)

    def __enter__(self) -> "MemorySubscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryBus:
    """LiveBus kept in this process; correct only when one worker serves every request."""

    kind = "memory"

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}
        self._subs: dict[str, set[MemorySubscription]] = {}
        self._queue_size = queue_size

    def version(self, scope: str) -> int:
        with self._cond:
            return self._versions.get(scope, 0)

    def versions(self, scopes: Sequence[str]) -> list[int]:
        with self._cond:
            return [self._versions.get(s, 0) for s in scopes]

    def bump(self, scopes: Sequence[str], event: dict | None = None) -> list[int]:
        scopes = list(scopes) if not isinstance(scopes, str) else [scopes]
        payload = encode_event(event) if event is not None else None
        with self._cond:
            new = [self._incr(s) for s in scopes]
            targets = [(s, list(self._subs.get(s, ()))) for s in unique_scopes(scopes)]
            self._cond.notify_all()
        if payload is not None:
            self._deliver(payload, targets)
        return new

    def _incr(self, scope: str) -> int:
        value = self._versions.get(scope, 0) + 1
        self._versions[scope] = value
        return value

    @staticmethod
    def _deliver(payload: str, targets: list[tuple[str, list[MemorySubscription]]]) -> None:
        for scope, subs in targets:
            for sub in subs:
                event = decode_event(payload, scope)
                if event is not None:
                    sub.offer(event)

    def wait(self, scope: str, since: int, timeout: float) -> int:
        """Block until `scope` moves past `since` or `timeout` elapses; return its version."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._versions.get(scope, 0) <= since:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._versions.get(scope, 0)

    def subscribe(self, scopes: Sequence[str]) -> Subscription:
        sub = MemorySubscription(self, unique_scopes(scopes), self._queue_size)
        with self._cond:
            for scope in sub.scopes:
                self._subs.setdefault(scope, set()).add(sub)
        return sub

    def _unsubscribe(self, sub: MemorySubscription) -> None:
        with self._cond:
            for scope in sub.scopes:
                subs = self._subs.get(scope)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._subs[scope]

    def ping(self) -> None:
        return None

    def close(self) -> None:
        with self._cond:
            subs = {sub for group in self._subs.values() for sub in group}
        for sub in subs:
            sub.close()
