"""Self-check: configuration, database, schema version, Redis and the artifact store, as a table."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import text

from config import ConfigError, Settings, load_settings
from db.engine import make_engine
from db.schema import current_revision, head_revision
from live import make_bus
from storage import make_store


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _check(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as exc:  # every failure becomes a row, never a traceback
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        return Check(name, False, detail[0] if detail else type(exc).__name__)


def _database(settings: Settings) -> str:
    engine = make_engine(settings.effective_database_url, 1)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return f"{engine.dialect.name} reachable"
    finally:
        engine.dispose()


def _schema(settings: Settings) -> str:
    engine = make_engine(settings.effective_database_url, 1)
    try:
        current, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    if current is None:
        raise RuntimeError(f"no schema yet (start the app once to create it; code is at {head})")
    if current != head:
        raise RuntimeError(f"database at {current}, code at {head}")
    return f"at {head}"


def _redis(settings: Settings) -> str:
    if not settings.redis_url:
        return "not configured: in-process cache and live bus"
    bus = make_bus(settings.redis_url)
    try:
        bus.ping()
    finally:
        bus.close()
    return "reachable"


def _store(settings: Settings) -> str:
    store = make_store(settings)
    store.check()
    return f"{store.kind}: wrote, read and deleted a probe"


def run_checks() -> list[Check]:
    try:
        settings = load_settings()
    except ConfigError as exc:
        return [Check("configuration", False, str(exc))]
    checks = [Check("configuration", True, f"port {settings.port}, log level {settings.log_level}")]
    checks.append(_check("database", lambda: _database(settings)))
    if checks[-1].ok:
        checks.append(_check("schema version", lambda: _schema(settings)))
    checks.append(_check("redis", lambda: _redis(settings)))
    checks.append(_check("artifact store", lambda: _store(settings)))
    return checks


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'check'.ljust(width)}  status  detail", f"{'-' * width}  ------  ------"]
    lines += [f"{c.name.ljust(width)}  {'OK' if c.ok else 'FAIL':6}  {c.detail}" for c in checks]
    return "\n".join(lines)


def main() -> int:
    checks = run_checks()
    print(render(checks))
    failed = [c.name for c in checks if not c.ok]
    print(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed" + (f"; failing: {', '.join(failed)}"
                                                                            if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
