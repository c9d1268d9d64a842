"""WebSocket metric streams against a real server: Werkzeug's threaded server on the `backend` app (SQLite + memory
bus, Postgres + Redis pub/sub), and gunicorn with two gthread workers where the stream and the ingest meet only
through Redis."""
from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import redis
import requests
from simple_websocket import Client, ConnectionClosed, ConnectionError as HandshakeError
from werkzeug.serving import make_server

from api import streams as api_streams
from services import streams
from services.context import Core
from tests.conftest import PASSWORD, REDIS_URL, Api

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
    bound = api_streams.slots(backend.server)
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


def ws_url(base: str, path: str, **query: str) -> str:
    url = base.replace("http://", "ws://") + path
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def connect(base: str, path: str, bearer: str | None = None, **query: str) -> Client:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return Client.connect(ws_url(base, path, **query), headers=headers)


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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def subscribers(core: Core, scope: str) -> int:
    """Live subscriptions on a scope: Redis PUBSUB NUMSUB, or the memory bus's table."""
    if core.bus.kind == "redis":
        client = redis.Redis.from_url(core.bus.url)
        try:
            return dict(client.pubsub_numsub(f"{core.bus.prefix}ev:{scope}"))[
                f"{core.bus.prefix}ev:{scope}".encode()]
        finally:
            client.close()
    return len(core.bus._subs.get(scope, ()))  # noqa: SLF001 - the memory bus has no public count


# ---------------------------------------------------------------- messages


def test_run_stream_pushes_the_seed_message_for_each_batch(live_url: str, world: dict, core: Core) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        post_metrics(live_url, alice.token, run_id, SEED)
        assert receive(ws) == {"run_id": run_id, "metrics": {"step": 150, "accuracy": 0.954, "loss": 0.218},
                               "timestamp": "2024-01-15T10:35:00Z"}

        # a batch of steps: one message with the latest step and every value logged at it
        post_metrics(live_url, alice.token, run_id, {"steps": [
            {"metrics": {"loss": 0.2}, "step": 151, "timestamp": "2024-01-15T10:35:01Z"},
            {"metrics": {"loss": 0.19, "accuracy": 0.96}, "step": 152, "timestamp": "2024-01-15T10:35:02Z"}]})
        assert receive(ws) == {"run_id": run_id, "metrics": {"step": 152, "loss": 0.19, "accuracy": 0.96},
                               "timestamp": "2024-01-15T10:35:02Z"}

        # other runs' metrics and the run's other events (a rename, a note) are not sent
        post_metrics(live_url, alice.token, world["runs"][1], SEED)
        assert alice.patch(f"/api/v1/runs/{run_id}", json={"name": "renamed"}).status_code == 200
        assert alice.post(f"/api/v1/runs/{run_id}/notes", json={"body": "hi"}).status_code == 201
        assert ws.receive(timeout=QUIET) is None

        post_metrics(live_url, alice.token, run_id, {"metrics": {"loss": 0.1}, "step": 200})
        message = receive(ws)
        assert message["metrics"] == {"step": 200, "loss": 0.1} and message["run_id"] == run_id
        assert message["timestamp"].endswith("Z")


def test_experiment_stream_carries_every_run_of_the_experiment(live_url: str, world: dict, core: Core) -> None:
    alice, (first, second) = world["alice"], world["runs"]
    with closing(connect(live_url, f"/api/v1/experiments/{world['exp']}/metrics/live", alice.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"exp:{world['exp']}") == 1)
        post_metrics(live_url, alice.token, first, SEED)
        post_metrics(live_url, alice.token, world["other_run"], SEED)  # another experiment: not on this stream
        post_metrics(live_url, alice.token, second, {"metrics": {"loss": 0.5}, "step": 3,
                                                     "timestamp": "2024-01-15T10:36:00Z"})
        got = [receive(ws), receive(ws)]
        assert got == [{"run_id": first, "metrics": {"step": 150, "accuracy": 0.954, "loss": 0.218},
                        "timestamp": "2024-01-15T10:35:00Z"},
                       {"run_id": second, "metrics": {"step": 3, "loss": 0.5}, "timestamp": "2024-01-15T10:36:00Z"}]
        assert ws.receive(timeout=QUIET) is None


def test_many_batches_arrive_in_order(live_url: str, world: dict, core: Core) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        for step in range(30):
            post_metrics(live_url, alice.token, run_id, {"metrics": {"loss": 1.0 / (step + 1)}, "step": step})
        steps = [receive(ws)["metrics"]["step"] for _ in range(30)]
        assert steps == list(range(30))


# ---------------------------------------------------------------- authentication and permissions


def test_token_in_the_query_string_authenticates_browsers(live_url: str, world: dict, core: Core) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as header_ws, \
            closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", None, token=alice.token)) as query_ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 2)
        post_metrics(live_url, alice.token, run_id, SEED)
        assert receive(header_ws) == receive(query_ws)


def test_basic_auth_is_accepted_like_the_rest_of_the_api(live_url: str, world: dict) -> None:
    run_id = world["runs"][0]
    basic = base64.b64encode(b"alice:correct-horse-battery").decode()
    url = ws_url(live_url, f"/api/v1/runs/{run_id}/metrics/stream")
    with closing(Client.connect(url, headers={"Authorization": f"Basic {basic}"})) as ws:
        assert ws.receive(timeout=QUIET) is None and ws.connected


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_missing_or_unknown_token_is_refused_before_the_upgrade(live_url: str, world: dict,
                                                                token: str | None) -> None:
    path = f"/api/v1/runs/{world['runs'][0]}/metrics/stream"
    for attempt in (lambda: connect(live_url, path, token),
                    lambda: connect(live_url, path, None, **({"token": token} if token else {}))):
        with pytest.raises(HandshakeError) as failure:
            attempt()
        assert failure.value.status_code == 401


def test_runs_and_experiments_the_user_cannot_see_close_with_4404(live_url: str, world: dict,
                                                                  make_user: Callable[..., Api]) -> None:
    mallory = make_user("mallory", team="other-team", role="admin")
    targets = [f"/api/v1/runs/{world['runs'][0]}/metrics/stream",
               f"/api/v1/experiments/{world['exp']}/metrics/live",
               f"/api/v1/runs/{uuid.uuid4()}/metrics/stream",
               "/api/v1/experiments/no-such-experiment/metrics/live"]
    for path in targets:
        with closing(connect(live_url, path, mallory.token)) as ws:
            error, code = refused(ws)
            assert code == 4404 and error["code"] == "not_found", (path, error)
    # and the same answer for a run that exists and one that does not: no existence leak
    with closing(connect(live_url, targets[0], mallory.token)) as a, \
            closing(connect(live_url, targets[2], mallory.token)) as b:
        assert refused(a)[0]["field"] == refused(b)[0]["field"] == "run_id"


def test_viewers_may_stream(live_url: str, world: dict, make_user: Callable[..., Api], core: Core) -> None:
    viewer = make_user("victor", team="ml-team", role="viewer")
    run_id = world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", viewer.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        post_metrics(live_url, world["alice"].token, run_id, SEED)
        assert receive(ws)["run_id"] == run_id


def test_stream_closes_4404_when_the_run_is_deleted_or_access_is_lost(
        live_url: str, world: dict, make_user: Callable[..., Api], monkeypatch: pytest.MonkeyPatch,
        core: Core) -> None:
    monkeypatch.setattr(streams, "RECHECK_SECONDS", 0.2)
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        assert alice.delete(f"/api/v1/runs/{run_id}").status_code == 204
        error, code = refused(ws)
        assert (code, error["code"]) == (4404, "not_found")

    bob = make_user("bob", team="ml-team", role="viewer")
    exp_path = f"/api/v1/experiments/{world['exp']}/metrics/live"
    with closing(connect(live_url, exp_path, bob.token)) as ws:
        assert ws.receive(timeout=QUIET) is None  # streaming, nothing to say yet
        from services import accounts

        accounts.set_membership(core, None, "ml-team", "bob", None)
        error, code = refused(ws)
        assert (code, error["code"]) == (4404, "not_found")


def test_a_signed_in_browser_session_streams_from_its_own_origin_only(live_url: str, world: dict,
                                                                      core: Core) -> None:
    browser = requests.Session()
    page = browser.get(f"{live_url}/login", timeout=WAIT).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = browser.post(f"{live_url}/login", data={"username": "alice", "password": PASSWORD,
                                                        "csrf_token": csrf}, allow_redirects=False, timeout=WAIT)
    assert signed_in.status_code in (302, 303), signed_in.text[:300]
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    run_id = world["runs"][0]
    url = ws_url(live_url, f"/api/v1/runs/{run_id}/metrics/stream")
    # simple_websocket sends Host without the port, so the page's own origin is http://127.0.0.1 here
    with closing(Client.connect(url, headers={"Cookie": cookie, "Origin": "http://127.0.0.1"})) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        post_metrics(live_url, world["alice"].token, run_id, SEED)
        assert receive(ws)["run_id"] == run_id
    with closing(Client.connect(url, headers={"Cookie": cookie, "Origin": "http://evil.example"})) as ws:
        error, code = refused(ws)
        assert (code, error["code"]) == (4403, "forbidden")
    with pytest.raises(HandshakeError) as failure:  # no cookie, no token
        Client.connect(url, headers={"Origin": "http://127.0.0.1"})
    assert failure.value.status_code == 401


def test_plain_http_get_answers_426(live_url: str, world: dict) -> None:
    alice = world["alice"]
    for path in (f"/api/v1/runs/{world['runs'][0]}/metrics/stream", f"/api/v1/experiments/{world['exp']}/metrics/live"):
        response = requests.get(live_url + path, headers={"Authorization": f"Bearer {alice.token}"}, timeout=WAIT)
        assert response.status_code == 426
        assert response.json()["error"]["code"] == "upgrade_required"
    spec = alice.get("/openapi/openapi.json").get_json()
    assert "/api/v1/runs/{run_id}/metrics/stream" in spec["paths"]


# ---------------------------------------------------------------- resources: bound, close, heartbeats


def test_streams_per_process_are_bounded(live_url: str, world: dict, stream_slots: streams.StreamSlots,
                                         core: Core) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    path = f"/api/v1/runs/{run_id}/metrics/stream"
    stream_slots.limit = 2
    first, second = connect(live_url, path, alice.token), connect(live_url, path, alice.token)
    try:
        assert wait_for(lambda: stream_slots.active == 2)
        with closing(connect(live_url, path, alice.token)) as third:
            error, code = refused(third)
            assert (code, error["code"]) == (4429, "busy")
        first.close()
        assert wait_for(lambda: stream_slots.active == 1)
        with closing(connect(live_url, path, alice.token)) as again:  # a freed slot is usable again
            assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 2)
            post_metrics(live_url, alice.token, run_id, SEED)
            assert receive(again)["metrics"]["step"] == 150
            assert receive(second)["metrics"]["step"] == 150
    finally:
        second.close()
    assert wait_for(lambda: stream_slots.active == 0)


def test_closing_the_socket_closes_the_subscription(live_url: str, world: dict, core: Core,
                                                    stream_slots: streams.StreamSlots) -> None:
    alice, run_id, exp_id = world["alice"], world["runs"][0], world["exp"]
    ws = connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)
    live = connect(live_url, f"/api/v1/experiments/{exp_id}/metrics/live", alice.token)
    assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1 and subscribers(core, f"exp:{exp_id}") == 1)
    ws.close()
    live.close()
    assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 0 and subscribers(core, f"exp:{exp_id}") == 0)
    assert wait_for(lambda: stream_slots.active == 0)
    post_metrics(live_url, alice.token, run_id, SEED)  # publishing to nobody is fine


def test_a_client_that_stops_answering_pings_is_dropped(live_url: str, world: dict, core: Core,
                                                        ping_options: dict,
                                                        stream_slots: streams.StreamSlots) -> None:
    ping_options["ping_interval"] = 0.3
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as healthy:
        dead = dead_client(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)
        try:
            assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 2)
            time.sleep(1.5)  # several ping intervals: the healthy client answers, the dead one does not
            assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
            assert stream_slots.active == 1
            post_metrics(live_url, alice.token, run_id, SEED)
            assert receive(healthy)["run_id"] == run_id  # the healthy one kept streaming through the pings
        finally:
            dead.close()


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


# ---------------------------------------------------------------- two gunicorn workers, one Redis


def owner(workers: list[int], server_port: int, client_port: int) -> int | None:
    """The worker holding the server side of the TCP connection from client_port (via /proc/net/tcp inodes)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                inode = fields[9]
    if inode is None:
        return None
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


@contextmanager
def threaded_gunicorn(env: dict[str, str], log: Path, workers: int = 2,
                      threads: int = 4) -> Iterator[tuple[str, subprocess.Popen]]:
    """`gunicorn -w 2 --threads 4` (the gthread worker flask-sock needs), up once every worker has booted."""
    from tests.integration.test_team_mode import gunicorn

    with gunicorn(env, log, workers, threads) as served:
        yield served


def connection_on(base: str, workers: list[int], want: int) -> HTTPConnection:
    """A keep-alive HTTP connection that worker `want` accepted (new connections land on either worker)."""
    port = int(base.rsplit(":", 1)[1])
    for _ in range(200):
        conn = HTTPConnection("127.0.0.1", port, timeout=WAIT)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        if owner(workers, port, conn.sock.getsockname()[1]) == want:
            return conn
        conn.close()
    raise AssertionError(f"no connection landed on worker {want}")


def http_post(conn: HTTPConnection, path: str, token: str, body: dict) -> tuple[int, Any]:
    conn.request("POST", path, body=json.dumps(body), headers={"Authorization": f"Bearer {token}",
                                                               "Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc to see which worker serves what")
def test_stream_on_one_gunicorn_worker_receives_metrics_posted_to_the_other(tmp_path: Path,
                                                                            s3_endpoint: str) -> None:
    from tests.support import fresh_pg_database
    from tests.integration.test_team_mode import ADMIN, Http, worker_pids

    with fresh_pg_database() as pg:
        env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": pg, "REDIS_URL": REDIS_URL, "MINIO_ENDPOINT": s3_endpoint,
               "MINIO_ACCESS_KEY": "test", "MINIO_SECRET_KEY": "test", "SECRET_KEY": "stream-secret",
               "STORAGE_BUCKET_ARTIFACTS": f"live-{uuid.uuid4().hex[:8]}", "LOG_LEVEL": "INFO",
               "ADMIN_USERNAME": ADMIN["username"], "ADMIN_PASSWORD": ADMIN["password"], "DATABASE_POOL_SIZE": "3"}
        with threaded_gunicorn(env, tmp_path / "gunicorn.log") as (base, proc):
            workers = worker_pids(proc.pid)
            assert len(workers) == 2
            status, issued = Http(base).call("POST", "/api/v1/auth/token", ADMIN)
            assert status == 201, issued
            token = issued["token"]
            api = Http(base, token)
            project = api.post("/api/v1/projects", {"name": "live", "team": "ml-team"})
            exp = api.post("/api/v1/experiments", {"project_id": project["id"], "name": "exp"})
            run_id = api.post(f"/api/v1/experiments/{exp['id']}/runs", {"name": "r"})["id"]

            port = int(base.rsplit(":", 1)[1])
            run_ws = connect(base, f"/api/v1/runs/{run_id}/metrics/stream", token)
            exp_ws = connect(base, f"/api/v1/experiments/{exp['id']}/metrics/live", None, token=token)
            try:
                holder = owner(workers, port, run_ws.sock.getsockname()[1])
                assert holder in workers
                other = next(pid for pid in workers if pid != holder)
                conn = connection_on(base, workers, other)
                try:
                    time.sleep(0.5)  # let both streams finish subscribing before the first publish
                    for step in range(5):
                        status, body = http_post(conn, f"/api/v1/runs/{run_id}/metrics", token,
                                                 {"metrics": {"loss": 1.0 / (step + 1)}, "step": step,
                                                  "timestamp": 1_700_000_000_000 + step})
                        assert status == 201, body
                    assert owner(workers, port, conn.sock.getsockname()[1]) == other  # all five via the other
                finally:
                    conn.close()
                for ws in (run_ws, exp_ws):
                    got = [receive(ws) for _ in range(5)]
                    assert [m["metrics"] for m in got] == [{"step": s, "loss": 1.0 / (s + 1)} for s in range(5)]
                    assert {m["run_id"] for m in got} == {run_id}
            finally:
                run_ws.close()
                exp_ws.close()
            time.sleep(1.5)  # the handlers notice the close within a poll and give their threads back
        log = (tmp_path / "gunicorn.log").read_text()
        assert "Traceback" not in log, log[-5000:]
