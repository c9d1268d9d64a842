"""Benchmark helpers: start our server (embedded or gunicorn) on a free port, wait for it, measure RSS."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psutil
import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from db.engine import normalise_url  # noqa: E402

ADMIN = ("bench-admin", "bench-password-123")
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    name = f"et_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def server(backend: str, workers: int = 2, threads: int = 8) -> Iterator[tuple[str, psutil.Process]]:
    """Start our app: 'sqlite' → python app.py; 'postgres' → gunicorn -w workers on a fresh database."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir, _database(backend) as db_url:
        env = {**os.environ, "DATA_DIR": data_dir, "PORT": str(port), "LOG_LEVEL": "WARNING",
               "ADMIN_USERNAME": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "SECRET_KEY": "bench"}
        if db_url:
            env["DATABASE_URL"] = db_url
            cmd = [sys.executable, "-m", "gunicorn", "--no-control-socket", "-w", str(workers), "--threads",
                   str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "app:server"]
            # create the schema and admin once, before workers race for it
            subprocess.run([sys.executable, "-c", "import app; app.server"], cwd=ROOT, env=env, check=True)
        else:
            cmd = [sys.executable, "app.py"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_up(base, proc)
            wait_settled(psutil.Process(proc.pid))
            yield base, psutil.Process(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "postgres":
        with fresh_pg_database() as url:
            yield url
    else:
        yield ""


def _wait_up(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not come up")


def wait_settled(proc: psutil.Process, timeout: float = 120, window: float = 0.5) -> None:
    """Wait until the server's process tree is idle: a gunicorn worker still importing the app when the first
    one answers would leave the clients' keep-alive connections all on the ready worker for the whole run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = [proc, *proc.children(recursive=True)]
        before = sum(sum(p.cpu_times()[:2]) for p in tree if p.is_running())
        time.sleep(window)
        after = sum(sum(p.cpu_times()[:2]) for p in tree if p.is_running())
        if after - before < 0.05 * window:
            return
    raise RuntimeError("server did not settle")


def token(base: str) -> str:
    response = requests.post(base + "/api/v1/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]})
    response.raise_for_status()
    return response.json()["token"]


class RssSampler(threading.Thread):
    """Peak resident memory of a process and its children, sampled every 100 ms."""

    def __init__(self, proc: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.proc, self.peak, self._stop_event = proc, 0, threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.1):
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
