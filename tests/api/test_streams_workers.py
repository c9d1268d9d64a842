"""WebSocket metric streams under gunicorn with two gthread workers, where the stream and the ingest meet only
through Redis."""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.api.streams_support import WAIT, channel_subscribers, connect, receive, wait_for
from tests.conftest import REDIS_URL

BUS_PREFIX = "et:"  # the Redis bus's default key prefix, which the gunicorn workers use


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
            channels = [f"{BUS_PREFIX}ev:run:{run_id}", f"{BUS_PREFIX}ev:exp:{exp['id']}"]
            run_ws = connect(base, f"/api/v1/runs/{run_id}/metrics/stream", token)
            exp_ws = connect(base, f"/api/v1/experiments/{exp['id']}/metrics/live", None, token=token)
            try:
                holder = owner(workers, port, run_ws.sock.getsockname()[1])
                assert holder in workers
                other = next(pid for pid in workers if pid != holder)
                conn = connection_on(base, workers, other)
                try:
                    # both streams have subscribed on Redis before the first publish
                    assert wait_for(lambda: all(channel_subscribers(REDIS_URL, channel) == 1 for channel in channels)), \
                        f"the streams did not subscribe to {channels} within {WAIT:g}s"
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
            # the handlers notice the close within a poll, unsubscribe and give their threads back
            assert wait_for(lambda: all(channel_subscribers(REDIS_URL, channel) == 0 for channel in channels)), \
                f"the stream handlers did not unsubscribe from {channels} within {WAIT:g}s"
        log = (tmp_path / "gunicorn.log").read_text()
        assert "Traceback" not in log, log[-5000:]
