"""Redis live bus shared by every worker: INCR counters under f"{prefix}ver:" and PUBLISH on f"{prefix}ev:"."""
from __future__ import annotations

import logging
import time
from typing import Sequence
from urllib.parse import urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.client import PubSub
from redis.retry import Retry

from .base import LiveError, Subscription, decode_event, encode_event, unique_scopes

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2.0
SOCKET_TIMEOUT = 3.0
SUBSCRIBE_TIMEOUT = 3.0


def make_redis_client(url: str, *, decode_responses: bool) -> redis.Redis:
    """A client with short timeouts and a single quick retry, so an outage costs seconds, not minutes."""
    return redis.Redis.from_url(
        url,
        decode_responses=decode_responses,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT,
        socket_keepalive=True,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
    )


def safe_url(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or parts.path or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path if parts.hostname else ''}"


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class RedisSubscription:
    """A PubSub on the bus's channels; get() skips control messages until the deadline."""

    def __init__(self, pubsub: PubSub, prefix: str) -> None:
        self._pubsub = pubsub
        self._channel_prefix = f"{prefix}ev:"
        self._closed = False

    def wait_subscribed(self, count: int, timeout: float) -> None:
        """Block until the server confirmed `count` subscriptions, so later publishes are not missed."""
        deadline = time.monotonic() + timeout
        confirmed = 0
        while confirmed < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LiveError(f"redis did not confirm the subscription within {timeout:g}s")
            message = self._pubsub.get_message(timeout=remaining)
            if message and message.get("type") == "subscribe":
                confirmed += 1

    def get(self, timeout: float) -> dict | None:
        if self._closed:
            return None
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            remaining = deadline - time.monotonic()
            message = self._read(max(remaining, 0.0))
            if message is not None:
                event = self._decode(message)
                if event is not None:
                    return event
            if remaining <= 0:
                return None

    def _read(self, timeout: float) -> dict | None:
        try:
            return self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise LiveError(f"redis subscription lost: {_reason(exc)}") from exc

    def _decode(self, message: dict) -> dict | None:
        if message.get("type") != "message":
            return None
        channel = str(message.get("channel", ""))
        scope = channel[len(self._channel_prefix):] if channel.startswith(self._channel_prefix) else channel
        return decode_event(message.get("data", ""), scope)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._pubsub.close()
        except redis.RedisError as exc:
            log.debug("closing redis subscription: %s", exc)

    def __enter__(self) -> "RedisSubscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RedisBus:
    """LiveBus on Redis; all state lives in Redis so any worker sees every bump."""

    kind = "redis"

    def __init__(self, url: str, prefix: str = "et:") -> None:
        self.url = url
        self.prefix = prefix
        self._client = make_redis_client(url, decode_responses=True)

    def _key(self, scope: str) -> str:
        return f"{self.prefix}ver:{scope}"

    def _channel(self, scope: str) -> str:
        return f"{self.prefix}ev:{scope}"

    def _error(self, action: str, exc: BaseException) -> LiveError:
        return LiveError(f"redis at {safe_url(self.url)} {action}: {_reason(exc)}")

    def version(self, scope: str) -> int:
        return self.versions([scope])[0]

    def versions(self, scopes: Sequence[str]) -> list[int]:
        scopes = [scopes] if isinstance(scopes, str) else list(scopes)
        if not scopes:
            return []
        try:
            values = self._client.mget([self._key(s) for s in scopes])
        except redis.RedisError as exc:
            raise self._error("failed to read versions", exc) from exc
        return [int(v) if v is not None else 0 for v in values]

    def bump(self, scopes: Sequence[str], event: dict | None = None) -> list[int]:
        """Never raises on a Redis outage: the DB already committed, so log and return []."""
        scopes = [scopes] if isinstance(scopes, str) else list(scopes)
        if not scopes:
            return []
        try:
            return self._bump(scopes, event)
        except redis.RedisError as exc:
            log.warning("live bump of %s skipped: redis at %s: %s", scopes, safe_url(self.url), _reason(exc))
            return []

    def _bump(self, scopes: list[str], event: dict | None) -> list[int]:
        pipe = self._client.pipeline(transaction=False)
        for scope in scopes:
            pipe.incr(self._key(scope))
        if event is not None:
            payload = encode_event(event)
            for scope in unique_scopes(scopes):
                pipe.publish(self._channel(scope), payload)
        results = pipe.execute()
        return [int(v) for v in results[: len(scopes)]]

    def subscribe(self, scopes: Sequence[str]) -> Subscription:
        channels = [self._channel(s) for s in unique_scopes(scopes)]
        pubsub = self._client.pubsub()
        sub = RedisSubscription(pubsub, self.prefix)
        if not channels:
            return sub
        try:
            pubsub.subscribe(*channels)
            sub.wait_subscribed(len(channels), SUBSCRIBE_TIMEOUT)
        except redis.RedisError as exc:
            sub.close()
            raise self._error("refused the subscription", exc) from exc
        except LiveError:
            sub.close()
            raise
        return sub

    def ping(self) -> None:
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise self._error("is unreachable", exc) from exc

    def close(self) -> None:
        try:
            self._client.close()
        except redis.RedisError as exc:
            log.debug("closing redis bus: %s", exc)
