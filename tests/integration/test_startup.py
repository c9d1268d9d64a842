"""Start-up: `python app.py` on defaults, one-line refusals of bad configuration, settings reaching the backends,
schema upgrades on SQLite and Postgres."""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterator

import pytest
import redis
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app import StartupError, build_core
from config import Settings
from db.engine import make_engine
from db.models import Base
from db.schema import current_revision, head_revision, upgrade
from tests.support import fresh_pg_database
from tests.conftest import REDIS_URL
from tests.s3_server import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # seconds; imports alone take a few on a busy 2-core machine
SETTING_VARS = {f.name.upper() for f in fields(Settings)}


def clean_env(**env: str) -> dict[str, str]:
    """The test process's environment without any of our settings (the runner's must not leak in), plus env."""
    base = {k: v for k, v in os.environ.items() if k not in SETTING_VARS and not k.startswith("WERKZEUG_")}
    return {**base, "PYTHONUNBUFFERED": "1", **env}


# ---------------------------------------------------------------- refusals: one line on stderr, exit != 0

@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def _sqlite_stamped(tmp: Path, revision: str) -> Path:
    """A DATA_DIR whose database is at head, then stamped with a revision the code does not know."""
    engine = make_engine(f"sqlite:///{tmp / 'tracking.db'}")
    upgrade(engine)
    engine.dispose()
    with sqlite3.connect(tmp / "tracking.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    return tmp


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Outcome, list[str]]]]:
    """Every bad configuration started at once (each start costs seconds of imports); id -> (outcome, words)."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    cases: dict[str, tuple[dict[str, str], list[str]]] = {
        "garbage-database-url": ({"DATABASE_URL": "garbage"}, ["DATABASE_URL"]),
        "unknown-scheme": ({"DATABASE_URL": "mysql://u:secret@db/x"}, ["DATABASE_URL"]),
        "unreachable-postgres": ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
                                 ["DATABASE_URL", "127.0.0.1:1"]),
        "port-abc": ({"PORT": "abc"}, ["PORT", "abc"]),
        "log-level-loud": ({"LOG_LEVEL": "LOUD"}, ["LOG_LEVEL", "LOUD"]),
        "unreachable-redis": ({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, ["REDIS_URL", "unreachable"]),
        "unreachable-minio": ({"MINIO_ENDPOINT": f"127.0.0.1:{free_port()}"}, ["MINIO_ENDPOINT", "unreachable"]),
        "schema-newer-than-code": ({"DATA_DIR": str(_sqlite_stamped(tmp_path_factory.mktemp("ffff"), "ffff"))},
                                   ["ffff", "newer"]),
        "port-in-use": ({"PORT": str(busy.getsockname()[1])}, ["cannot listen", "PORT"]),
    }
    procs = {}
    for case, (env, _words) in cases.items():
        data_dir = str(tmp_path_factory.mktemp(case))
        procs[case] = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, text=True, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env=clean_env(**{"DATA_DIR": data_dir, "PORT": str(free_port()), **env}))
    try:
        results = {}
        for case, proc in procs.items():
            out, err = proc.communicate(timeout=START_TIMEOUT)
            results[case] = (Outcome(proc.returncode, out, err), cases[case][1])
        yield results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        busy.close()


REFUSAL_CASES = ["garbage-database-url", "unknown-scheme", "unreachable-postgres", "port-abc", "log-level-loud",
                 "unreachable-redis", "unreachable-minio", "schema-newer-than-code", "port-in-use"]


@pytest.mark.parametrize("case", REFUSAL_CASES)
def test_bad_configuration_is_one_clear_line_and_a_failing_exit(refusals: dict, case: str) -> None:
    outcome, words = refusals[case]
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert outcome.returncode != 0, outcome
    assert len(lines) == 1, outcome.stderr
    assert "Traceback" not in outcome.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "secret" not in lines[0]
    assert "listening" not in outcome.stdout


def test_unreachable_postgres_fails_within_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(StartupError, match="DATABASE_URL"):
        build_core(Settings(data_dir=str(tmp_path), database_url="postgresql://postgres@127.0.0.1:1/x"))
    assert time.monotonic() - started < 6


# ---------------------------------------------------------------- a good start, twice on the same data

def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_healthy(proc: subprocess.Popen, base: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _get(f"{base}/healthz", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        if proc.poll() is not None:
            tail = proc.stderr.read()[-3000:] if proc.stderr else ""
            raise AssertionError(f"server exited with {proc.returncode}: {tail}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no healthy answer from {base} within {timeout:.0f}s")
        try:
            proc.wait(timeout=0.1)  # the pause between polls; returns early if the server dies
        except subprocess.TimeoutExpired:
            pass


@contextmanager
def serving(cwd: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python app.py` on a free port until the block ends; yields its base URL and the process."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=cwd, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(PORT=str(port), **env))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_fresh_checkout_starts_with_embedded_defaults_then_restarts_on_its_data(tmp_path: Path) -> None:
    admin = {"username": "root", "password": "first-admin-pass"}
    # No DATA_DIR: the SQLite file and artifacts land under ./data of the working directory.
    with serving(tmp_path, ADMIN_USERNAME=admin["username"], ADMIN_PASSWORD=admin["password"]) as (base, proc):
        status, body = _post_json(f"{base}/api/v1/auth/token", admin)
        assert status == 201, body
        assert _get(f"{base}/readyz")[0] == 200
    out, err = proc.stdout.read(), proc.stderr.read()
    assert f"listening on {base}" in out
    assert (tmp_path / "data" / "tracking.db").is_file() and (tmp_path / "data" / "artifacts").is_dir()
    assert "upgrading database schema from empty" in err  # LOG_LEVEL defaults to INFO

    # Again on the same data: schema already current, ADMIN_* ignored now that users exist, LOG_LEVEL=WARNING.
    with serving(ROOT, DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="WARNING", ADMIN_USERNAME="intruder",
                 ADMIN_PASSWORD="second-admin-pass") as (base, proc):
        assert _post_json(f"{base}/api/v1/auth/token", admin)[0] == 201
        assert _post_json(f"{base}/api/v1/auth/token",
                          {"username": "intruder", "password": "second-admin-pass"})[0] == 401
    err = proc.stderr.read()
    assert " INFO " not in err.replace(" INFO werkzeug", "").replace(" INFO dash.dash", ""), err
    assert "upgrading database schema" not in err


# ---------------------------------------------------------------- settings reach the backends

def test_team_settings_size_the_pool_and_configure_redis_and_s3(tmp_path: Path, s3_endpoint: str) -> None:
    bucket = f"art-{uuid.uuid4().hex[:8]}"
    with fresh_pg_database() as pg:
        core = build_core(Settings(data_dir=str(tmp_path), database_url=pg, database_pool_size=4,
                                   redis_url=REDIS_URL, redis_ttl=77, minio_endpoint=s3_endpoint,
                                   minio_access_key="test", minio_secret_key="test",
                                   storage_bucket_artifacts=bucket, max_concurrent_visualizations=2))
        engine = core.sessions.kw["bind"]
        try:
            assert engine.dialect.name == "postgresql" and engine.pool.size() == 4
            assert current_revision(engine) == head_revision()
            assert core.bus.kind == "redis" and core.store.kind == "s3"
            assert core.store.client.bucket_exists(bucket)
            key = f"ttl-probe-{uuid.uuid4().hex}"
            core.cache.set(key, "x")
            client = redis.Redis.from_url(REDIS_URL)
            [stored] = client.keys(f"*{key}")
            assert 60 < client.ttl(stored) <= 77
            client.delete(stored)
            assert core.heavy_slots.acquire(blocking=False) and core.heavy_slots.acquire(blocking=False)
            assert not core.heavy_slots.acquire(blocking=False)
        finally:
            core.bus.close()
            engine.dispose()


def test_embedded_pool_size_and_local_artifacts(tmp_path: Path) -> None:
    core = build_core(Settings(data_dir=str(tmp_path), database_pool_size=3, max_concurrent_visualizations=1))
    engine = core.sessions.kw["bind"]
    try:
        assert engine.dialect.name == "sqlite" and engine.pool.size() == 3
        assert core.bus.kind == "memory" and core.store.kind == "local"
        assert (tmp_path / "artifacts").is_dir()
        assert core.heavy_slots.acquire(blocking=False) and not core.heavy_slots.acquire(blocking=False)
    finally:
        engine.dispose()


# ---------------------------------------------------------------- migrations on both databases

@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        with fresh_pg_database() as url:
            yield url


def test_migrations_build_the_models_schema_and_rerun_as_a_no_op(empty_database: str) -> None:
    engine = make_engine(empty_database, 2)
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == head_revision() == current_revision(engine)
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == [], f"the migrations and db/models disagree: {diffs}"
        assert upgrade(engine) == head_revision()  # already current: nothing to do
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_workers_starting_together_on_an_empty_database_both_succeed(empty_database: str) -> None:
    """gunicorn boots its workers at the same moment: both upgrade; one waits for the other."""
    engines = [make_engine(empty_database, 2) for _ in range(2)]
    barrier = threading.Barrier(2)

    def start(engine):  # noqa: ANN001, ANN202
        barrier.wait()
        return upgrade(engine)

    try:
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(start, engines)) == [head_revision()] * 2
        assert current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()
