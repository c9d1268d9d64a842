"""Helpers shared by test modules: a throwaway Postgres database of one's own, a tiny model registry."""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

from db.engine import normalise_url

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_pg_database(prefix: str = "et_test") -> Iterator[str]:
    """CREATE a database nobody else touches, yield its URL, DROP it (WITH FORCE) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Registry:
    """A tiny model registry on a free port: records every POST (path, body), answers `status` after `delay` s."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.status, self.delay = 201, 0.0
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(registry.delay)
                registry.received.append((self.path, body))
                self.send_response(registry.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def registry() -> Iterator[Registry]:
    """A Registry for one test (import this fixture into the test module)."""
    reg = Registry()
    yield reg
    reg.http.shutdown()
    reg.http.server_close()


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; its last answer (for a clear assert)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
