"""Small result cache: cachelib RedisCache when REDIS_URL is set, else an in-process SimpleCache."""
from __future__ import annotations

import logging
from typing import Callable, TypeVar

from cachelib import BaseCache, RedisCache, SimpleCache

from .redis_bus import make_redis_client

log = logging.getLogger(__name__)

T = TypeVar("T")


def make_cache(redis_url: str, ttl: int, prefix: str = "et:cache:") -> BaseCache:
    """RedisCache on `redis_url` (shared by all workers) when set, else SimpleCache in this process."""
    if redis_url:
        client = make_redis_client(redis_url, decode_responses=False)  # cachelib stores pickled bytes
        return RedisCache(host=client, default_timeout=ttl, key_prefix=prefix)
    return SimpleCache(default_timeout=ttl)


def cached(cache: BaseCache, key: str, compute: Callable[[], T], ttl: int | None = None) -> T:
    """The cached value of `key`, or compute() stored for `ttl` seconds (None: the cache's default).

    A None result is never cached (cachelib reports a miss as None). Cache errors are logged and
    the value is computed instead; this function only raises what compute() raises.
    """
    value = _get(cache, key)
    if value is not None:
        return value
    value = compute()
    if value is not None:
        _set(cache, key, value, ttl)
    return value


def _get(cache: BaseCache, key: str) -> object | None:
    try:
        return cache.get(key)
    except Exception as exc:  # any backend failure must fall back to computing
        log.warning("cache read of %r failed, computing instead: %s", key, _reason(exc))
        return None


def _set(cache: BaseCache, key: str, value: object, ttl: int | None) -> None:
    try:
        cache.set(key, value, timeout=ttl)
    except Exception as exc:  # a failed store only costs a recomputation later
        log.warning("cache write of %r failed: %s", key, _reason(exc))


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
