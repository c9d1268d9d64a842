"""Team mode: `gunicorn -w 2 app:server` on Postgres + Redis + S3 keeps no state in a worker's memory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import REDIS_URL
from tests.integration.test_startup import ROOT, START_TIMEOUT, clean_env, wait_healthy
from tests.support import fresh_pg_database
from tests.s3_server import free_port

ADMIN = {"username": "lead", "password": "team-mode-pass"}
BOUNDARY = "et-test-boundary"


class Http:
    """Plain HTTP on a fresh connection per request, so the kernel deals requests to either worker."""

    def __init__(self, base: str, token: str = "") -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        if response_is_json(payload):
            return status, json.loads(payload)
        return status, payload

    def post(self, path: str, body: Any) -> Any:
        status, payload = self.call("POST", path, body)
        assert status == 201, (path, status, payload)
        return payload

    def get(self, path: str) -> Any:
        status, payload = self.call("GET", path)
        assert status == 200, (path, status, payload)
        return payload


def response_is_json(payload: bytes) -> bool:
    return payload[:1] in (b"{", b"[")


def multipart(filename: str, content: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()]


BOOTED = "at schema revision"  # build_core logs it at INFO once a worker's app is ready


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = 2,
             threads: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve app:server until the block ends; yields once every worker has built the app and /healthz answers.

    `threads` selects the gthread worker (what flask-sock's WebSockets need), with keep-alive connections."""
    port = free_port()
    threading = ["--threads", str(threads), "--keep-alive", "30"] if threads else []
    with open(log, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--no-control-socket", "-w", str(workers),
                                 *threading, "-b", f"127.0.0.1:{port}", "app:server"], cwd=ROOT, text=True,
                                stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, env=clean_env(**env))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while log.read_text().count(BOOTED) < workers:
            assert proc.poll() is None, f"gunicorn exited with {proc.returncode}: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"workers did not boot: {log.read_text()[-3000:]}"
            try:
                proc.wait(timeout=0.1)  # the pause between polls; returns early if gunicorn dies
            except subprocess.TimeoutExpired:
                pass
        wait_healthy(proc, base)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the workers")
def test_two_workers_share_everything_through_postgres_redis_and_s3(tmp_path: Path, s3_endpoint: str) -> None:
    with fresh_pg_database() as pg:
        env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": pg, "REDIS_URL": REDIS_URL, "MINIO_ENDPOINT": s3_endpoint,
               "MINIO_ACCESS_KEY": "test", "MINIO_SECRET_KEY": "test", "SECRET_KEY": "team-secret",
               "STORAGE_BUCKET_ARTIFACTS": f"team-{uuid.uuid4().hex[:8]}", "LOG_LEVEL": "INFO",
               "ADMIN_USERNAME": ADMIN["username"], "ADMIN_PASSWORD": ADMIN["password"],
               "DATABASE_POOL_SIZE": "3"}
        with gunicorn(env, tmp_path / "gunicorn.log") as (base, proc):
            workers = worker_pids(proc.pid)
            assert len(workers) == 2
            _exercise(base, workers)
        log = (tmp_path / "gunicorn.log").read_text()
        assert "Traceback" not in log and "created the first administrator" in log, log


def _exercise(base: str, workers: list[int]) -> None:
    status, issued = Http(base).call("POST", "/api/v1/auth/token", ADMIN)
    assert status == 201, issued
    api = Http(base, issued["token"])
    before = {pid: cpu_ticks(pid) for pid in workers}

    project = api.post("/api/v1/projects", {"name": "team-mode", "team": "ml-team"})
    experiment = api.post("/api/v1/experiments", {"project_id": project["id"], "name": "exp"})
    run = api.post(f"/api/v1/experiments/{experiment['id']}/runs", {"name": "run-1", "parameters": {"lr": 0.1}})
    rid = run["id"]

    def log(step: int) -> int:
        return api.call("POST", f"/api/v1/runs/{rid}/metrics", {"metrics": {"loss": 1.0 / (step + 1)},
                                                                 "step": step})[0]

    with ThreadPoolExecutor(4) as pool:  # concurrent, so both sync workers must take some
        assert set(pool.map(log, range(40))) == {201}
        reads = list(pool.map(lambda _: api.get(f"/api/v1/runs/{rid}/metrics")["metrics"], range(12)))
    for summary in reads:
        [loss] = summary
        assert (loss["key"], loss["count"], loss["last"]) == ("loss", 40, 1.0 / 40)

    content = os.urandom(200_000)
    status, artifact = api.call("POST", f"/api/v1/runs/{rid}/artifacts", raw=multipart("model.bin", content),
                                content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert status == 201, artifact
    with ThreadPoolExecutor(4) as pool:
        downloads = list(pool.map(lambda _: api.call(
            "GET", f"/api/v1/runs/{rid}/artifacts/{artifact['id']}/content"), range(8)))
    assert all(status == 200 and body == content for status, body in downloads)

    after = {pid: cpu_ticks(pid) for pid in workers}
    assert all(after[pid] > before[pid] for pid in workers), (before, after)

    long_link = "/compare?runs=" + ",".join(str(uuid.uuid4()) for _ in range(300))  # ≈11 kB request line
    assert api.call("GET", long_link)[0] in (200, 302)  # gunicorn.conf.py: not 414 Request-URI Too Long

    status, _ = api.call("DELETE", f"/api/v1/tokens/{issued['id']}")
    assert status == 204
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: api.call("GET", "/api/v1/me")[0], range(8)))
    assert statuses == [401] * 8  # revoked everywhere at once: no worker kept it in memory
