"""Composition root: create_app(settings) wires settings, database, storage, live bus, API and dashboard."""
from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
from flask_openapi3 import Info, OpenAPI
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from api import register_api
from api.common import CORE_KEY
from api.errors import validation_response
from auth import cli, guard, web
from callbacks import register_all
from config import ConfigError, Settings, load_settings
from db.engine import make_engine, make_session_factory, normalise_url
from db.schema import SchemaError, upgrade
from live import LiveError, make_bus, make_cache
from services import accounts
from services.context import Core
from storage import StorageError, make_store

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("experiment_tracking")


class StartupError(RuntimeError):
    """The service cannot start; the message is one line for the operator."""


def _describe_db(url: str) -> str:
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite {parsed.database}"
    return f"Postgres {parsed.host}:{parsed.port or 5432}/{parsed.database}"


def _connect(settings: Settings) -> Engine:
    url = settings.effective_database_url
    engine = make_engine(url, settings.database_pool_size)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # driver errors vary; all mean the same to the operator
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StartupError(f"cannot reach the database ({_describe_db(url)}): {reason}") from None
    return engine


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / ".secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def build_core(settings: Settings) -> Core:
    engine = _connect(settings)
    upgrade(engine)
    bus = make_bus(settings.redis_url)
    cache = make_cache(settings.redis_url, settings.redis_ttl)
    core = Core(settings=settings, sessions=make_session_factory(engine), bus=bus, store=make_store(settings),
                cache=cache)
    if settings.admin_username and settings.admin_password:
        if accounts.bootstrap_admin(core, settings.admin_username, settings.admin_password):
            log.info("created the first administrator %r", settings.admin_username)
    return core


def _server(settings: Settings, core: Core) -> OpenAPI:
    server = OpenAPI(__name__, info=Info(title="Experiment Tracking 2.0", version="2.0.0"),
                     security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
                     validation_error_status=400, validation_error_callback=validation_response)
    server.config.update(SECRET_KEY=_secret_key(settings), MAX_CONTENT_LENGTH=settings.max_request_bytes,
                         JSON_SORT_KEYS=False)
    server.extensions[CORE_KEY] = core
    web.install(server)
    guard.install(server)
    register_api(server)
    cli.register(server)
    return server


def create_app(settings: Settings | None = None) -> dash.Dash:
    """Build the Flask server (API) and the Dash app (dashboard) on top of it."""
    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    core = build_core(settings)
    server = _server(settings, core)
    app = dash.Dash(__name__, server=server, use_pages=True, pages_folder=str(ROOT / "pages"),
                    assets_folder=str(ROOT / "assets"), suppress_callback_exceptions=True,
                    title="Experiment Tracking 2.0", update_title=None)
    app.layout = dbc.Container(dash.page_container, fluid=True)
    register_all(app)
    return app


_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """`app` and `server` are built on first use, so `gunicorn app:server` and `flask --app app` work."""
    if name not in ("app", "server"):
        raise AttributeError(name)
    if not _built:
        dash_app = create_app()
        _built.update(app=dash_app, server=dash_app.server)
        globals().update(_built)
    return _built[name]


def main() -> int:
    try:
        settings = load_settings()
        dash_app = create_app(settings)
    except (ConfigError, StartupError, SchemaError, StorageError, LiveError) as exc:
        print(f"experiment-tracking: {exc}", file=sys.stderr)
        return 2
    core: Core = dash_app.server.extensions[CORE_KEY]
    print(f"Experiment Tracking 2.0 on http://{settings.host}:{settings.port}  "
          f"(database: {_describe_db(settings.effective_database_url)}; artifacts: {core.store.kind}; "
          f"live bus: {core.bus.kind}; API docs: /docs)", flush=True)
    dash_app.run(host=settings.host, port=settings.port, debug=settings.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
