"""A real server (Werkzeug in a thread) per backend, users with tokens, and the mlflow client pointed at it."""
from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import requests
from werkzeug.serving import make_server

from api.common import CORE_KEY
from app import create_app
from config import Settings
from services import accounts
from services.context import Core
from tests.conftest import PASSWORD, settings_for
from tests.support import fresh_pg_database

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # before the import: no usage reports from tests
mlflow = pytest.importorskip("mlflow", reason="pip install -r requirements-mlflow-test.txt")

TEAM = "ml-team"
USER = "alice"


@dataclass
class Server:
    url: str
    core: Core
    token: str  # alice's bearer token (editor in TEAM)

    def v1(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)


@contextmanager
def serve(settings: Settings) -> Iterator[Server]:
    app = create_app(settings)
    core = app.server.extensions[CORE_KEY]
    accounts.create_user(core, None, USER, PASSWORD)
    accounts.create_team(core, None, TEAM)
    accounts.set_membership(core, None, TEAM, USER, "editor")
    token = accounts.create_token(core, accounts.authenticate(core, USER, PASSWORD), "mlflow")["token"]
    httpd = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="mlflow-compat-server", daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_port}", core, token)
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        core.sessions.kw["bind"].dispose()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = settings_for("sqlite", str(tmp_path_factory.mktemp("mlflow-sqlite")))
    with serve(settings) as server:
        yield server


@pytest.fixture(scope="session")
def mlflow_pg_url() -> Iterator[str]:
    """A Postgres database of our own: the shared test database is wiped between other modules' tests."""
    with fresh_pg_database("et_mlflow") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory, mlflow_pg_url: str,
                    s3_endpoint: str) -> Iterator[Server]:
    """Team mode: Postgres + Redis + S3 (moto)."""
    settings = settings_for("postgres", str(tmp_path_factory.mktemp("mlflow-pg")), mlflow_pg_url, s3_endpoint)
    with serve(settings) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def any_server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(f"{request.param}_server")


def point_client_at(monkeypatch: pytest.MonkeyPatch, server: Server, **auth: str) -> None:
    """MLFLOW_TRACKING_URI and credentials as a user would set them; no retries, so a 5xx fails fast."""
    env = {"MLFLOW_TRACKING_URI": server.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
           "MLFLOW_HTTP_REQUEST_TIMEOUT": "60", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env.update(auth or {"MLFLOW_TRACKING_TOKEN": server.token})
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                 "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    mlflow.set_tracking_uri(server.url)


@pytest.fixture
def tracking(monkeypatch: pytest.MonkeyPatch, any_server: Server) -> Iterator[Server]:
    """The mlflow client on either backend, as alice with her bearer token."""
    point_client_at(monkeypatch, any_server)
    yield any_server
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture
def sqlite_tracking(monkeypatch: pytest.MonkeyPatch, sqlite_server: Server) -> Iterator[Server]:
    point_client_at(monkeypatch, sqlite_server)
    yield sqlite_server
    while mlflow.active_run():
        mlflow.end_run()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"

