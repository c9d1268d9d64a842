"""The real server for client tests: `python app.py` in a subprocess on a free port, with start/kill/restart."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import IO, Optional

import requests

from config import Settings

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # imports alone take seconds on a busy 2-core machine
ADMIN = ("admin", "client-tests-password")
SETTING_VARS = {f.name.upper() for f in fields(Settings)}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):  # noqa: ANN001, ANN201
    """Poll condition() until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class ServerProcess:
    """One server on one DATA_DIR and port; kill() and start() again keep both (a restart)."""

    def __init__(self, data_dir: Path, port: Optional[int] = None, **env: str) -> None:
        self.data_dir = data_dir
        self.extra_env = env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self._log: Optional[IO[str]] = None

    def _env(self) -> dict:
        base = {k: v for k, v in os.environ.items() if k not in SETTING_VARS and not k.startswith("WERKZEUG_")}
        return {**base, "PYTHONUNBUFFERED": "1", "DATA_DIR": str(self.data_dir), "PORT": str(self.port),
                "HOST": "127.0.0.1", "ADMIN_USERNAME": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1],
                "SECRET_KEY": "client-tests", "LOG_LEVEL": "WARNING", **self.extra_env}

    def start(self) -> "ServerProcess":
        self._log = open(self.data_dir / "server.log", "a")
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=self._env(), text=True,
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        wait_for(self._healthy, START_TIMEOUT, f"the server on {self.url} to answer /healthz")
        return self

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            log = (self.data_dir / "server.log").read_text()[-3000:]
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{log}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, requests in flight are cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.kill()

    def cli(self, *args: str) -> str:
        """`flask --app app …` on this server's DATA_DIR (users, teams, tokens)."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=self._env(),
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def token(self) -> str:
        response = requests.post(f"{self.url}/api/v1/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]},
                                 timeout=10)
        assert response.status_code == 201, response.text
        return response.json()["token"]
