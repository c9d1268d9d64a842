"""Schema management: upgrade to the code's Alembic head at start, refuse a database that is newer."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

try:
    import fcntl
except ImportError:  # Windows: no cross-process lock for SQLite start-ups (one process there anyway)
    fcntl = None  # type: ignore[assignment]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
PG_LOCK_KEY = 0x45542D736368  # any constant: serialises concurrent start-ups (gunicorn workers)

log = logging.getLogger(__name__)


class SchemaError(RuntimeError):
    """The database schema cannot be used by this version of the code."""


def alembic_config(url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    return _script().get_current_head() or ""


def _read_revision(conn: Connection) -> str | None:
    """The stamped revision, read directly (alembic's MigrationContext would log on every start)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _read_revision(conn)


def upgrade(engine: Engine) -> str:
    """Upgrade to head; raise SchemaError if the database carries a revision this code does not know.

    Concurrent start-ups (several workers on one fresh database) take turns: a Postgres advisory lock,
    or a lock file beside the SQLite file; whoever comes second finds the schema at head.
    """
    script = _script()
    head = script.get_current_head() or ""
    with _exclusive(engine) as conn:
        current = _read_revision(conn)
        if current is not None and not _known(script, current):
            raise SchemaError(f"database schema revision {current!r} is newer than this code (head {head!r}); "
                              "upgrade the application or point DATABASE_URL at another database")
        if current == head:
            return head
        log.info("upgrading database schema from %s to %s", current or "empty", head)
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that one process at a time holds; commits before the lock is let go."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            yield conn
        return
    database = engine.url.database
    if fcntl is None or not database:
        with engine.begin() as conn:
            yield conn
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises ResolutionError/CommandError for unknown ids
        return False
