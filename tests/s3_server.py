"""Start moto's standalone S3-compatible server on a free local port for integration tests."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

HOST = "127.0.0.1"
START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def moto_executable() -> str:
    """moto_server next to the running interpreter, else on PATH."""
    local = Path(sys.executable).parent / "moto_server"
    if local.exists():
        return str(local)
    found = shutil.which("moto_server")
    if found is None:
        raise RuntimeError("moto_server not found: pip install 'moto[server]'")
    return found


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP reply means the server is up
    except OSError:
        return False


def _wait_until_up(proc: subprocess.Popen, url: str, log: IO[bytes], deadline: float) -> None:
    while not _answers(url):
        if proc.poll() is not None:
            log.seek(0)
            tail = log.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"moto_server exited with {proc.returncode}: {tail}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"moto_server did not answer on {url} within {START_TIMEOUT:.0f}s")
        try:
            proc.wait(timeout=0.05)  # pause between polls; returns at once if the server died
        except subprocess.TimeoutExpired:
            pass


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def moto_server(timeout: float = START_TIMEOUT) -> Iterator[str]:
    """Run `moto_server -H 127.0.0.1 -p PORT`; yield "127.0.0.1:PORT"; terminate it on exit."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [moto_executable(), "-H", HOST, "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _wait_until_up(proc, f"http://{HOST}:{port}/", log, time.monotonic() + timeout)
            yield f"{HOST}:{port}"
        finally:
            _stop(proc)
