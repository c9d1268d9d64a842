"""Fixtures for the Python client's tests: one real server per module, an admin token, a fresh experiment."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from tests.client.server import ROOT, ServerProcess

try:
    import experiment_tracker  # noqa: F401  (installed with `pip install -e client/`)
except ImportError:  # a checkout where the client is not installed: use it from the tree
    sys.path.insert(0, str(ROOT / "client"))

from experiment_tracker import Tracker  # noqa: E402

TEAM = "client-team"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("server")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    return server.token()


@pytest.fixture
def http(server: ServerProcess, token: str) -> Callable[..., Any]:
    """http("GET", "/api/v1/...", json=...) → requests.Response with the admin's token."""

    def call(method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(method, f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"},
                                timeout=30, **kw)

    return call


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def tracker(server: ServerProcess, token: str, spool_dir: Path) -> Iterator[Tracker]:
    t = Tracker(server.url, token, spool_dir=spool_dir, linger=0.05, max_backoff=1.0, capture_environment=False)
    yield t
    t.close(timeout=30)


@pytest.fixture
def experiment(tracker: Tracker) -> dict:
    """A new experiment in a new project (the site admin naming an unknown team creates it)."""
    project = tracker.get_or_create_project(f"client-{uuid.uuid4().hex[:8]}", team=TEAM)
    return tracker.create_experiment(project["id"], f"exp-{uuid.uuid4().hex[:8]}")
