"""Shared by the WebSocket stream tests: a real threaded server on the `backend` app, seeded users and runs, and
helpers to connect, receive, wait and count live subscriptions."""
from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
import redis
import requests
from simple_websocket import Client, ConnectionClosed
from werkzeug.serving import make_server

from api import streams as api_streams
from services import streams
from services.context import Core
from tests.conftest import Api
from tests.support import wait_until

WAIT = 10.0  # seconds for anything that must happen
QUIET = 0.6  # seconds to wait for a message that must not come
SEED = {"metrics": {"accuracy": 0.954, "loss": 0.218}, "step": 150, "timestamp": "2024-01-15T10:35:00Z"}



@pytest.fixture
def live_url(backend: Any, core: Core) -> Iterator[str]:
    """The backend's app on a real threaded Werkzeug server (what `python app.py` and dash_duo run)."""
    server = make_server("127.0.0.1", 0, backend.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="stream-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def stream_slots(backend: Any) -> Iterator[streams.StreamSlots]:
    """The server's stream slots, once every earlier test's stream has given its slot back; limit restored after."""
    bound = api_streams.slots(backend.server)
    assert wait_for(lambda: bound.active == 0), f"{bound.active} streams of earlier tests still hold a slot"
    limit = bound.limit
    yield bound
    bound.limit = limit


@pytest.fixture
def ping_options(backend: Any) -> Iterator[dict]:
    """The server's SOCK_SERVER_OPTIONS, restored after the test."""
    config = backend.server.config
    saved = dict(config["SOCK_SERVER_OPTIONS"])
    yield config["SOCK_SERVER_OPTIONS"]
    config["SOCK_SERVER_OPTIONS"] = saved


@pytest.fixture
def world(make_user: Callable[..., Api]) -> dict[str, Any]:
    """alice (editor of ml-team) with a project, an experiment and two runs; a second experiment with one run."""
    alice = make_user("alice", team="ml-team", role="editor")
    project = alice.post("/api/v1/projects", json={"name": "live", "team": "ml-team"}).get_json()
    exp = alice.post("/api/v1/experiments", json={"project_id": project["id"], "name": "exp"}).get_json()
    other_exp = alice.post("/api/v1/experiments", json={"project_id": project["id"], "name": "other"}).get_json()
    runs = [alice.post(f"/api/v1/experiments/{exp['id']}/runs", json={"name": f"r{i}"}).get_json()["id"]
            for i in range(2)]
    other_run = alice.post(f"/api/v1/experiments/{other_exp['id']}/runs", json={"name": "x"}).get_json()["id"]
    return {"alice": alice, "project": project["id"], "exp": exp["id"], "runs": runs, "other_run": other_run}


class StreamClient(Client):
    """simple_websocket's Client, except frames that arrive in the same read as the 101 response are handled.

    Its handshake takes only the first event of that read; frames behind it (a refusal's error envelope and close)
    sit in the parser until more bytes come, and a server that closes straight away then looks like a drop (1005)."""

    def _thread(self) -> None:
        self.connected = self._handle_events()
        super()._thread()


def ws_url(base: str, path: str, **query: str) -> str:
    url = base.replace("http://", "ws://") + path
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def connect(base: str, path: str, bearer: str | None = None, **query: str) -> Client:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return StreamClient.connect(ws_url(base, path, **query), headers=headers)


def receive(ws: Client, timeout: float = WAIT) -> Any:
    data = ws.receive(timeout=timeout)
    assert data is not None, f"no message within {timeout}s"
    return json.loads(data)


def closed_with(ws: Client, timeout: float = WAIT) -> int:
    """Wait for the server to close the socket; the close code it sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            extra = ws.receive(timeout=0.2)
        except ConnectionClosed as exc:
            return exc.reason
        assert extra is None, f"unexpected message before the close: {extra}"
    raise AssertionError("the server did not close the stream")


def refused(ws: Client) -> tuple[dict, int]:
    """(error body, close code) of a stream the server refuses after the upgrade."""
    frame = receive(ws)
    return frame["error"], closed_with(ws)


def post_metrics(base: str, token: str, run_id: str, body: dict) -> None:
    response = requests.post(f"{base}/api/v1/runs/{run_id}/metrics", json=body,
                             headers={"Authorization": f"Bearer {token}"}, timeout=WAIT)
    assert response.status_code == 201, response.text


def wait_for(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    return wait_until(condition, timeout)




def channel_subscribers(redis_url: str, channel: str) -> int:
    """PUBSUB NUMSUB of one Redis channel: how many subscriptions, from any process, listen on it."""
    client = redis.Redis.from_url(redis_url)
    try:
        return dict(client.pubsub_numsub(channel))[channel.encode()]
    finally:
        client.close()


def subscribers(core: Core, scope: str) -> int:
    """Live subscriptions on a scope: Redis PUBSUB NUMSUB, or the memory bus's table."""
    if core.bus.kind == "redis":
        return channel_subscribers(core.bus.url, f"{core.bus.prefix}ev:{scope}")
    return len(core.bus._subs.get(scope, ()))  # noqa: SLF001 - the memory bus has no public count


def dead_client(base: str, path: str, token: str) -> socket.socket:
    """A raw socket that completes the WebSocket handshake and then never reads or answers a ping."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "the server closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


@contextmanager
def closing(ws: Client) -> Iterator[Client]:
    try:
        yield ws
    finally:
        try:
            ws.close()
        except ConnectionClosed:
            pass
