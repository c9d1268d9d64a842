"""Shared fixtures: the app on SQLite (embedded mode) and on Postgres + Redis + S3 (team mode), users, tokens."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from api.common import CORE_KEY
from app import create_app
from config import Settings
from db.models import Base
from services import accounts
from services.context import Core
from tests.s3_server import moto_server
from tests.support import fresh_pg_database

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct-horse-battery"
accounts.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # tests create many users; scrypt would dominate their time


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh Postgres database for this test process, dropped at the end."""
    with fresh_pg_database() as url:
        yield url


def settings_for(backend: str, tmp: str, pg: str = "", s3: str = "") -> Settings:
    if backend == "sqlite":
        return Settings(data_dir=tmp, secret_key="test-secret", log_level="WARNING")
    return Settings(data_dir=tmp, secret_key="test-secret", log_level="WARNING", database_url=pg,
                    redis_url=REDIS_URL, minio_endpoint=s3, minio_access_key="test", minio_secret_key="test",
                    storage_bucket_artifacts=f"art-{uuid.uuid4().hex[:8]}", database_pool_size=5)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole app on one backend: SQLite + memory bus + local disk, or Postgres + Redis + S3."""
    tmp = str(tmp_path_factory.mktemp(request.param))
    if request.param == "sqlite":
        settings = settings_for("sqlite", tmp)
    else:
        settings = settings_for("postgres", tmp, request.getfixturevalue("pg_url"),
                                request.getfixturevalue("s3_endpoint"))
    app = create_app(settings)
    yield app
    app.server.extensions[CORE_KEY].sessions.kw["bind"].dispose()


def wipe(core: Core) -> None:
    engine = core.sessions.kw["bind"]
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    core.cache.clear()


@pytest.fixture
def core(backend: Any) -> Iterator[Core]:
    core = backend.server.extensions[CORE_KEY]
    wipe(core)
    yield core


@pytest.fixture
def client(backend: Any, core: Core) -> FlaskClient:
    return backend.server.test_client()


@dataclass
class Api:
    """A test client that sends a bearer token and JSON."""

    client: FlaskClient
    token: str

    def _headers(self, extra: dict | None = None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def make_user(core: Core, client: FlaskClient) -> Callable[..., Api]:
    """make_user("alice", team="ml-team", role="editor", admin=False) → Api with that user's token."""

    def make(username: str, team: str | None = None, role: str = "editor", admin: bool = False) -> Api:
        accounts.create_user(core, None, username, PASSWORD, is_admin=admin)
        if team:
            try:
                accounts.create_team(core, None, team)
            except Exception:  # the team exists already: fine
                pass
            accounts.set_membership(core, None, team, username, role)
        response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
        return Api(client, response.get_json()["token"])

    return make


@pytest.fixture
def admin(make_user: Callable[..., Api]) -> Api:
    return make_user("admin", admin=True)
