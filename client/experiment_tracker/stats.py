"""Counters of what happened to logged metric values (points, not requests, unless named otherwise)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Dict


@dataclass
class Stats:
    """Counters of points (not requests) unless named otherwise."""

    logged: int = 0
    delivered: int = 0
    spooled: int = 0  # waiting on disk right now
    spilled: int = 0  # went to disk straight from a full queue (or at close)
    replayed: int = 0
    conflicts_as_stored: int = 0  # batches whose replay answered 409: stored by an earlier attempt
    duplicates: int = 0  # points the server already had from another batch (same key, step and timestamp)
    rejected: int = 0  # points the server refused for good; kept in the spool's dead/ folder
    skipped_nonfinite: int = 0
    lost: int = 0  # only when the server is unreachable and the spool cannot be written (disk full…)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> Dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
