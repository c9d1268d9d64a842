"""Live updates for dashboards and streams: version counters, publish/subscribe, and a small cache."""
from __future__ import annotations

from .base import LiveBus, LiveError, Subscription
from .cache import cached, make_cache
from .memory import MemoryBus
from .redis_bus import RedisBus

__all__ = [
    "LiveBus",
    "LiveError",
    "MemoryBus",
    "RedisBus",
    "Subscription",
    "cached",
    "make_bus",
    "make_cache",
]


def make_bus(redis_url: str) -> LiveBus:
    """RedisBus when `redis_url` is set (team mode, shared by workers), else an in-process MemoryBus."""
    if redis_url:
        return RedisBus(redis_url)
    return MemoryBus()
