"""The bounded in-memory point queue and how its items become batches for POST /runs/{id}/metrics."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Dict, List, Optional, Set, Tuple

MAX_BATCH_POINTS = 1000


@dataclass
class Item:
    """One log_metrics call: points of one run at one step and timestamp."""

    run_id: str
    step: int
    ts: int
    metrics: Dict[str, float]


@dataclass
class Batch:
    """The body of one request. Once built it never changes, so a replay is byte-for-byte the same batch and a
    409 conflict on it means "already stored". `uncertain`: an earlier attempt may have been stored."""

    run_id: str
    steps: List[dict] = field(default_factory=list)
    points: int = 0
    uncertain: bool = False
    path: Optional[object] = None  # its spool file while it is not acknowledged

    def body(self) -> dict:
        return {"steps": self.steps}

    def halves(self) -> Tuple["Batch", "Batch"]:
        """Split in two (by steps, or by keys of a lone step) to isolate a point the server refuses."""
        if len(self.steps) > 1:
            mid = len(self.steps) // 2
            parts = [self.steps[:mid], self.steps[mid:]]
        else:
            only = self.steps[0]
            keys = list(only["metrics"])
            mid = len(keys) // 2
            parts = [[{**only, "metrics": {k: only["metrics"][k] for k in chunk}}] for chunk in (keys[:mid], keys[mid:])]
        return tuple(Batch(self.run_id, p, sum(len(s["metrics"]) for s in p), self.uncertain)  # type: ignore
                     for p in parts)


def build_batches(items: List[Item], max_points: int = MAX_BATCH_POINTS) -> List[Batch]:
    """Coalesce items into per-run batches of ≤ max_points, never repeating a (key, step) inside one batch."""
    open_batches: Dict[str, Tuple[Batch, Set[Tuple[str, int]]]] = {}
    done: List[Batch] = []
    for item in items:
        pending = dict(item.metrics)
        while pending:
            batch, seen = open_batches.get(item.run_id) or (Batch(item.run_id), set())
            if any((key, item.step) in seen for key in pending) or batch.points >= max_points:
                done.append(batch)
                batch, seen = Batch(item.run_id), set()
            room = max_points - batch.points
            chunk = dict(list(pending.items())[:room])
            for key in chunk:
                del pending[key]
                seen.add((key, item.step))
            batch.steps.append({"metrics": chunk, "step": item.step, "timestamp": item.ts})
            batch.points += len(chunk)
            open_batches[item.run_id] = (batch, seen)
    done.extend(batch for batch, _ in open_batches.values() if batch.points)
    return done


class PointQueue:
    """Bounded by points. put() waits a little for room and reports whether it got some."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: Deque[Item] = deque()
        self._points = 0
        self._inflight = 0  # taken by the sender, not yet settled (delivered or on disk)
        self._cond = threading.Condition()
        self._urgent = False

    def __len__(self) -> int:
        return self._points

    def put(self, item: Item, timeout: float) -> bool:
        size = len(item.metrics)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._points and self._points + size > self.capacity:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            self._items.append(item)
            self._points += size
            self._cond.notify_all()
            return True

    def take(self, max_points: int, linger: float, stop: Optional[threading.Event] = None) -> List[Item]:
        """Wait up to `linger` seconds for max_points (or an urgent flush/stop), then take up to max_points."""
        deadline = time.monotonic() + linger
        with self._cond:
            while self._points < max_points and not self._urgent and not (stop is not None and stop.is_set()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._pop(max_points)

    def take_nowait(self, max_points: int) -> List[Item]:
        with self._cond:
            return self._pop(max_points)

    def _pop(self, max_points: int) -> List[Item]:
        taken: List[Item] = []
        count = 0
        while self._items and count < max_points:
            item = self._items.popleft()
            taken.append(item)
            count += len(item.metrics)
        self._points -= count
        self._inflight += count
        if not self._items:
            self._urgent = False
        self._cond.notify_all()
        return taken

    def settle(self, points: int) -> None:
        """The taker is done with `points` points: they are on the server or in the spool."""
        with self._cond:
            self._inflight -= points
            self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return not self._points and not self._inflight

    def hurry(self) -> None:
        """Make a waiting take() return now (flush, stop)."""
        with self._cond:
            self._urgent = bool(self._items)
            self._cond.notify_all()
