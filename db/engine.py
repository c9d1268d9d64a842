"""Engine and session factory for SQLite (embedded) and Postgres (team mode)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from config import ConfigError


def normalise_url(url: str) -> str:
    """Accept the common `postgres://` spelling and pin the psycopg2 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


CONNECT_TIMEOUT = 5  # seconds; an unreachable Postgres fails start-up fast instead of hanging


def make_engine(url: str, pool_size: int = 20) -> Engine:
    """Create an engine with a pool of `pool_size` (DATABASE_POOL_SIZE) connections plus as many overflow.

    SQLite also gets WAL, foreign keys and a busy timeout; Postgres a connect timeout and pre-ping.
    """
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a valid database URL") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, pool_size)
    try:
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                             connect_args={"connect_timeout": CONNECT_TIMEOUT})
    except (ArgumentError, ImportError, ValueError) as exc:
        raise ConfigError(f"DATABASE_URL cannot be used: {' '.join(str(exc).split())}") from None


def _sqlite_engine(url: str, database: str | None, pool_size: int) -> Engine:
    if not database or database == ":memory:":
        raise ConfigError("DATABASE_URL is an in-memory SQLite database: use a file, sqlite:////abs/path.db")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                           connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def is_postgres(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"
