"""A real `mlflow server` for side-by-side benchmarks, from its own virtualenv (never this app's environment).

The virtualenv lives in ~/.cache/et-bench/mlflow-venv (ET_BENCH_CACHE overrides ~/.cache/et-bench) and is built
once from bench/requirements-mlflow-server.txt; it is rebuilt when that file changes.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psutil
import requests

from common import free_port, wait_settled

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-mlflow-server.txt"
CACHE = Path(os.environ.get("ET_BENCH_CACHE", Path.home() / ".cache" / "et-bench"))
VENV = CACHE / "mlflow-venv"
STAMP = VENV / ".requirements-sha256"


def _requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_venv() -> Path:
    """The venv's bin directory; creates the venv and pip-installs the pinned server when missing or stale."""
    bin_dir = VENV / "bin"
    if STAMP.exists() and STAMP.read_text().strip() == _requirements_hash() and (bin_dir / "mlflow").exists():
        return bin_dir
    print(f"building {VENV} from {REQUIREMENTS.name} (about a minute) ...", file=sys.stderr, flush=True)
    if VENV.exists():
        shutil.rmtree(VENV)
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(bin_dir / "pip"), "install", "-q", "-r", str(REQUIREMENTS)], check=True)
    STAMP.write_text(_requirements_hash())
    return bin_dir


def mlflow_version() -> str:
    out = subprocess.run([str(ensure_venv() / "python"), "-c", "import mlflow; print(mlflow.__version__)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


@contextmanager
def mlflow_server(backend_uri: str, workers: int = 2) -> Iterator[tuple[str, psutil.Process]]:
    """`mlflow server` on a free port with the given backend store; no auth, no job execution."""
    bin_dir = ensure_venv()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="et-bench-mlflow-") as tmp:
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
               "DO_NOT_TRACK": "true", "MLFLOW_TRACKING_URI": ""}
        env.pop("VIRTUAL_ENV", None)
        cmd = [str(bin_dir / "mlflow"), "server", "--backend-store-uri", backend_uri,
               "--artifacts-destination", Path(tmp, "artifacts").as_uri(), "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), *shlex.split(os.environ.get("MLFLOW_SERVER_OPTS", ""))]
        log = open(Path(tmp, "server.log"), "wb")
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_up(base, proc, Path(tmp, "server.log"))
            wait_settled(psutil.Process(proc.pid))
            yield base, psutil.Process(proc.pid)
        finally:
            _stop(proc)
            log.close()


def _wait_up(base: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {log.read_text()[-3000:]}")
        try:
            if requests.get(base + "/health", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"mlflow server did not come up: {log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server and the workers it started (its own process group)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    for child in children:
        try:
            child.terminate()
        except psutil.Error:
            pass
    psutil.wait_procs(children, timeout=10)
