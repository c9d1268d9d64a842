"""Live bus and cache against the in-process backends and a real Redis (db 15, unique key prefix)."""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from typing import Callable, Iterator

import pytest
import redis

from live import LiveBus, LiveError, MemoryBus, RedisBus, cached, make_bus, make_cache
from tests.support import wait_until as support_wait_until

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SHORT = 0.3  # seconds a subscriber waits for an event that must not come
LONG = 5.0  # deadline for an event that must come


def _redis_or_fail() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis at {REDIS_URL}: {exc} (the live-bus tests need a real Redis)")
    return client


@pytest.fixture
def prefix() -> Iterator[str]:
    """A unique key prefix in db 15; every key under it is deleted afterwards."""
    value = f"test-live:{uuid.uuid4().hex}:"
    yield value
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{value}*", count=500))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def bus(request: pytest.FixtureRequest, prefix: str) -> Iterator[LiveBus]:
    if request.param == "memory":
        instance: LiveBus = MemoryBus()
    else:
        _redis_or_fail().close()
        instance = RedisBus(REDIS_URL, prefix=prefix)
    yield instance
    instance.close()


@pytest.fixture
def dead_url() -> str:
    """A Redis URL on a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/15"


def wait_until(condition: Callable[[], bool], timeout: float = LONG) -> bool:
    return support_wait_until(condition, timeout, interval=0.01)


def test_versions_start_at_zero(bus: LiveBus) -> None:
    assert bus.version("run:1") == 0
    assert bus.versions(["run:1", "exp:1"]) == [0, 0]
    assert bus.versions([]) == []
    bus.ping()


def test_bump_increments_and_returns_new_versions(bus: LiveBus) -> None:
    assert bus.bump(["run:1", "exp:1"]) == [1, 1]
    assert bus.bump(["run:1"]) == [2]
    assert bus.version("run:1") == 2
    assert bus.version("exp:1") == 1
    assert bus.bump([]) == []


def test_versions_of_many_scopes(bus: LiveBus) -> None:
    scopes = [f"run:{i}" for i in range(50)]
    for i, scope in enumerate(scopes):
        for _ in range(i % 4):
            bus.bump([scope])
    assert bus.versions(scopes) == [i % 4 for i in range(50)]
    assert bus.versions(["never", scopes[3], "never"]) == [0, 3, 0]


def test_subscriber_receives_event_with_scope(bus: LiveBus) -> None:
    with bus.subscribe(["run:7"]) as sub:
        bus.bump(["run:7", "exp:2"], {"type": "metric", "step": 3, "value": 0.5})
        event = sub.get(LONG)
        assert event == {"type": "metric", "step": 3, "value": 0.5, "scope": "run:7"}
        assert sub.get(SHORT) is None  # exp:2 was not subscribed


def test_subscriber_on_both_scopes_gets_one_event_per_scope(bus: LiveBus) -> None:
    with bus.subscribe(["run:7", "exp:2"]) as sub:
        bus.bump(["run:7", "exp:2"], {"type": "status"})
        got = [sub.get(LONG), sub.get(LONG)]
        assert sorted(e["scope"] for e in got if e) == ["exp:2", "run:7"]


def test_bump_without_event_publishes_nothing(bus: LiveBus) -> None:
    with bus.subscribe(["run:7"]) as sub:
        assert bus.bump(["run:7"]) == [1]
        assert sub.get(SHORT) is None


def test_subscriber_on_another_scope_receives_nothing(bus: LiveBus) -> None:
    with bus.subscribe(["run:other"]) as sub:
        bus.bump(["run:7"], {"type": "metric"})
        assert sub.get(SHORT) is None


def test_event_published_before_subscribing_is_not_received(bus: LiveBus) -> None:
    bus.bump(["run:7"], {"n": 1})
    with bus.subscribe(["run:7"]) as sub:
        bus.bump(["run:7"], {"n": 2})
        assert sub.get(LONG) == {"n": 2, "scope": "run:7"}
        assert sub.get(SHORT) is None


def test_non_json_values_are_stringified(bus: LiveBus) -> None:
    with bus.subscribe(["run:1"]) as sub:
        bus.bump(["run:1"], {"at": uuid.UUID(int=1), "tags": ("a", "b")})
        assert sub.get(LONG) == {"at": str(uuid.UUID(int=1)), "tags": ["a", "b"], "scope": "run:1"}


def test_closed_subscription_returns_none(bus: LiveBus) -> None:
    sub = bus.subscribe(["run:1"])
    sub.close()
    bus.bump(["run:1"], {"n": 1})
    assert sub.get(SHORT) is None
    sub.close()  # idempotent


def test_concurrent_bumps_are_not_lost(bus: LiveBus) -> None:
    def worker() -> None:
        for _ in range(50):
            bus.bump(["run:c"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LONG * 4)
    assert bus.version("run:c") == 200


def test_memory_slow_subscriber_drops_oldest_and_never_blocks() -> None:
    bus = MemoryBus(queue_size=3)
    with bus.subscribe(["run:1"]) as sub:
        for i in range(10):
            bus.bump(["run:1"], {"i": i})
        assert [sub.get(SHORT)["i"] for _ in range(3)] == [7, 8, 9]  # type: ignore[index]
        assert sub.get(0) is None


def test_memory_wait_returns_when_version_moves() -> None:
    bus = MemoryBus()
    timer = threading.Timer(0.05, lambda: bus.bump(["run:1"]))
    timer.start()
    try:
        assert bus.wait("run:1", since=0, timeout=LONG) == 1
        assert bus.wait("run:1", since=1, timeout=0.05) == 1
    finally:
        timer.cancel()


def test_two_redis_workers_share_counters_and_events(prefix: str) -> None:
    _redis_or_fail().close()
    a, b = RedisBus(REDIS_URL, prefix=prefix), RedisBus(REDIS_URL, prefix=prefix)
    try:
        assert a.bump(["run:1", "exp:1"]) == [1, 1]
        assert b.versions(["run:1", "exp:1"]) == [1, 1]
        assert b.bump(["run:1"]) == [2]
        assert a.version("run:1") == 2
        with b.subscribe(["exp:1"]) as sub:
            a.bump(["run:1", "exp:1"], {"type": "metric", "from": "a"})
            assert sub.get(LONG) == {"type": "metric", "from": "a", "scope": "exp:1"}
        assert wait_until(lambda: b.version("run:1") == 3)
    finally:
        a.close()
        b.close()


def test_redis_prefixes_are_isolated(prefix: str) -> None:
    _redis_or_fail().close()
    a, other = RedisBus(REDIS_URL, prefix=prefix), RedisBus(REDIS_URL, prefix=prefix + "x:")
    try:
        a.bump(["run:1"])
        assert other.version("run:1") == 0
        with other.subscribe(["run:1"]) as sub:
            a.bump(["run:1"], {"n": 1})
            assert sub.get(SHORT) is None
    finally:
        a.close()
        other.close()


def test_redis_unreachable_ping_raises_and_bump_does_not(dead_url: str, caplog: pytest.LogCaptureFixture) -> None:
    bus = RedisBus(dead_url, prefix="unused:")
    try:
        with pytest.raises(LiveError) as info:
            bus.ping()
        assert "\n" not in str(info.value)
        started = time.monotonic()
        assert bus.bump(["run:1", "exp:1"], {"type": "metric"}) == []
        assert time.monotonic() - started < 5
        assert any("live bump" in r.getMessage() for r in caplog.records)
        with pytest.raises(LiveError):
            bus.version("run:1")
        with pytest.raises(LiveError):
            bus.subscribe(["run:1"])
    finally:
        bus.close()


def test_make_bus_picks_backend(prefix: str) -> None:
    memory = make_bus("")
    assert isinstance(memory, MemoryBus) and memory.kind == "memory"
    remote = make_bus(REDIS_URL)
    try:
        assert isinstance(remote, RedisBus) and remote.kind == "redis"
        assert remote.prefix == "et:"
    finally:
        remote.close()


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest, prefix: str):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield make_cache("", ttl=60)
        return
    _redis_or_fail().close()
    instance = make_cache(REDIS_URL, ttl=60, prefix=f"{prefix}cache:")
    yield instance
    instance._write_client.close()


def test_cache_round_trip(cache) -> None:  # type: ignore[no-untyped-def]
    value = {"rows": [1, 2, 3], "name": "run"}
    assert cache.set("k", value)
    assert cache.get("k") == value
    assert cache.get("missing") is None


def test_cached_computes_once_then_serves(cache) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def compute() -> dict:
        calls.append(1)
        return {"n": len(calls)}

    assert cached(cache, "summary", compute) == {"n": 1}
    assert cached(cache, "summary", compute, ttl=30) == {"n": 1}
    assert len(calls) == 1
    assert cached(cache, "other", compute, ttl=30) == {"n": 2}


def test_cached_falls_back_when_backend_fails(cache) -> None:  # type: ignore[no-untyped-def]
    lock = threading.Lock()  # cannot be pickled: the store fails, then the read of what was stored fails
    assert cached(cache, "unpicklable", lambda: lock) is lock
    assert cached(cache, "unpicklable", lambda: lock) is lock


def test_cached_computes_when_redis_is_down(dead_url: str) -> None:
    cache = make_cache(dead_url, ttl=60)
    calls: list[int] = []
    assert cached(cache, "k", lambda: calls.append(1) or "value") == "value"
    assert cached(cache, "k", lambda: calls.append(1) or "value") == "value"
    assert calls == [1, 1]
    with pytest.raises(ZeroDivisionError):
        cached(cache, "k", lambda: 1 / 0)  # compute's own errors are not swallowed
