"""Composition root: create_app(settings) wires settings, database, storage, live bus, API and dashboard."""
from __future__ import annotations

import gc
import logging
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from flask import Response, redirect, request
from flask_openapi3 import Info, OpenAPI
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from api import register_api
from api.common import CORE_KEY
from api.errors import validation_response
from auth import cli, guard, web
from config import ConfigError, Settings, load_settings, validate
from db.engine import make_engine, make_session_factory, normalise_url
from db.schema import SchemaError, upgrade
from live import LiveError, make_bus, make_cache
from services import accounts
from services.context import Core
from services.errors import Conflict, ServiceError
from storage import ArtifactStore, StorageError, make_store

if TYPE_CHECKING:
    import dash

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("experiment_tracking")


class StartupError(RuntimeError):
    """The service cannot start; the message is one line for the operator."""


STARTUP_ERRORS = (ConfigError, StartupError, SchemaError, StorageError, LiveError)
ASSET_MAX_AGE = 365 * 24 * 3600  # seconds: as Dash's own fingerprinted component bundles
PROBE_TIMEOUT = 3.0  # seconds to open a TCP connection to MinIO/S3 at start


def _one_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _describe_db(url: str) -> str:
    try:
        parsed = make_url(normalise_url(url))
    except Exception:  # a URL too broken to parse: name it without echoing secrets
        return "the database"
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite {parsed.database}"
    return f"Postgres {parsed.host or 'local socket'}:{parsed.port or 5432}/{parsed.database}"


def _connect(settings: Settings) -> Engine:
    """An engine that has answered SELECT 1; StartupError (one line) when it cannot."""
    url = settings.effective_database_url
    try:
        engine = make_engine(url, settings.database_pool_size)
    except OSError as exc:  # the SQLite file's directory cannot be created
        raise StartupError(f"cannot use {_describe_db(url)} (DATABASE_URL/DATA_DIR): {exc.strerror or exc}") from None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # driver errors vary; all mean the same to the operator
        engine.dispose()
        reason = _one_line(getattr(exc, "orig", None) or exc) or type(exc).__name__
        raise StartupError(f"cannot reach the database ({_describe_db(url)}; DATABASE_URL): {reason}") from None
    return engine


def _secret_key(settings: Settings) -> str:
    """SECRET_KEY, else one generated once into DATA_DIR (workers starting together agree on it)."""
    if settings.secret_key:
        return settings.secret_key
    if settings.redis_url:
        log.warning("SECRET_KEY is not set: browser sessions only work across workers that share DATA_DIR")
    path = Path(settings.data_dir) / ".secret_key"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".secret_key.{os.getpid()}.tmp")
            tmp.write_text(secrets.token_hex(32))
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)  # atomic: the first process to start wins, the others read its key
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()
    except OSError as exc:
        raise StartupError(f"cannot keep the session key in DATA_DIR={settings.data_dir}: "
                           f"{exc.strerror or exc} (or set SECRET_KEY)") from None


def _check_store(settings: Settings, store: ArtifactStore) -> None:
    """Reach MinIO/S3 (a quick TCP connect first: the client's own retries take minutes) and run a probe."""
    endpoint = settings.minio_endpoint
    if endpoint:
        host, _, port = endpoint.rpartition(":") if endpoint.rpartition(":")[2].isdigit() else (endpoint, "", "")
        port_number = int(port) if port else (443 if settings.minio_secure else 80)
        try:
            socket.create_connection((host.strip("[]"), port_number), timeout=PROBE_TIMEOUT).close()
        except OSError as exc:
            raise StartupError(f"MINIO_ENDPOINT={endpoint} is unreachable: {exc.strerror or exc}") from None
    try:
        store.check()
    except StorageError as exc:
        where = f"MINIO_ENDPOINT={endpoint}" if endpoint else f"DATA_DIR={settings.data_dir}"
        raise StartupError(f"artifact store at {where} is not usable: {_one_line(exc)}") from None


def _bootstrap_admin(core: Core, settings: Settings) -> None:
    """ADMIN_USERNAME/ADMIN_PASSWORD create the first admin on an empty database, never later."""
    if not (settings.admin_username and settings.admin_password):
        return
    try:
        created = accounts.bootstrap_admin(core, settings.admin_username, settings.admin_password)
    except (Conflict, IntegrityError):  # another worker starting at the same moment created it
        created = False
    except ServiceError as exc:
        raise StartupError(f"ADMIN_USERNAME/ADMIN_PASSWORD: {exc.message}") from None
    if created:
        log.info("created the first administrator %r", settings.admin_username)


def build_core(settings: Settings) -> Core:
    """Check every backend the settings name, upgrade the schema, then bootstrap the admin.

    Each failure is a one-line STARTUP_ERRORS exception; whatever was opened is closed again.
    """
    validate(settings)
    logging.getLogger().setLevel(settings.log_level.upper())  # LOG_LEVEL even if logging was set up before
    engine = _connect(settings)
    closers: list[Callable[[], None]] = [engine.dispose]
    try:
        bus = make_bus(settings.redis_url)
        closers.append(bus.close)
        try:
            bus.ping()
        except LiveError as exc:
            raise StartupError(f"REDIS_URL: {exc}") from None
        cache = make_cache(settings.redis_url, settings.redis_ttl)
        store = make_store(settings)
        _check_store(settings, store)
        revision = upgrade(engine)
        core = Core(settings=settings, sessions=make_session_factory(engine), bus=bus, store=store, cache=cache)
        _bootstrap_admin(core, settings)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    log.info("database %s at schema revision %s", _describe_db(settings.effective_database_url), revision)
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
    server.add_url_rule("/tokens", "tokens_moved", lambda: redirect("/settings/tokens", 301))
    server.after_request(_cache_fingerprinted_assets)
    return server


def _cache_fingerprinted_assets(response: Response) -> Response:
    """Dash links assets/ files as ?m=<mtime>: a changed file gets a new URL, so the browser may keep them
    (Flask would answer no-cache, costing a revalidation round trip per file on every page load)."""
    if request.path.startswith("/assets/") and request.args.get("m") and response.status_code == 200:
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = ASSET_MAX_AGE
    return response


def create_app(settings: Settings | None = None) -> "dash.Dash":
    """Build the Flask server (API) and the Dash app (dashboard) on top of it."""
    import dash  # imported here: a refused start-up (bad settings) answers before the slow dashboard imports

    from callbacks import register_all
    from components import shell

    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    core = build_core(settings)
    server = _server(settings, core)
    app = dash.Dash(__name__, server=server, use_pages=True, pages_folder=str(ROOT / "pages"),
                    assets_folder=str(ROOT / "assets"), suppress_callback_exceptions=True,
                    title="Experiment Tracking 2.0", update_title=None, external_stylesheets=[],
                    serve_locally=True)  # Bootstrap and everything else come from assets/, never a CDN
    app.layout = shell.app_layout()
    register_all(app)
    return app


_built: dict[str, Any] = {}


def _settle_heap() -> None:
    """Once the app is built, its ≈ 300k long-lived objects (Dash, plotly, SQLAlchemy) leave the cyclic garbage
    collector's scans: each request's collections then look at its own objects only (≈ 1 ms less per
    1000-point batch)."""
    gc.collect()
    gc.freeze()


def __getattr__(name: str) -> Any:
    """`app` and `server` are built on first use, so `gunicorn app:server` and `flask --app app` work.

    A start-up failure is one line: gunicorn halts with "App failed to load", flask exits with status 2.
    """
    if name not in ("app", "server"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _built:
        try:
            dash_app = create_app()
        except STARTUP_ERRORS as exc:
            message = f"experiment-tracking: {exc}"
            if "gunicorn.arbiter" in sys.modules:
                from gunicorn.errors import AppImportError

                raise AppImportError(message) from None
            print(message, file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        _built.update(app=dash_app, server=dash_app.server)
        globals().update(_built)
        _settle_heap()
    return _built[name]


def _check_listen(host: str, port: int) -> None:
    """Fail before any work if HOST:PORT cannot be bound (the server binds it again right after)."""
    if os.environ.get("WERKZEUG_SERVER_FD"):  # the DEBUG reloader's child: its parent holds the socket
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                            flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise StartupError(f"HOST={host!r} is not an address of this machine: {exc.strerror}") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            sock.bind(address)
        except OSError as exc:
            raise StartupError(f"cannot listen on {host}:{port} (HOST, PORT): {exc.strerror or exc}") from None


def _fail(message: str) -> int:
    print(f"experiment-tracking: {message}", file=sys.stderr, flush=True)
    return 2


def main() -> int:
    """`python app.py`: check the configuration and every backend, then serve on HOST:PORT."""
    try:
        settings = load_settings()
        _check_listen(settings.host, settings.port)
        dash_app = create_app(settings)
    except STARTUP_ERRORS as exc:
        return _fail(_one_line(exc))
    except Exception as exc:  # a bug, not a configuration problem: still one line; LOG_LEVEL=DEBUG shows more
        log.debug("start-up failed", exc_info=True)
        return _fail(f"start-up failed: {type(exc).__name__}: {_one_line(exc)}")
    core: Core = dash_app.server.extensions[CORE_KEY]
    _settle_heap()
    print(f"Experiment Tracking 2.0 listening on http://{settings.host}:{settings.port}  "
          f"(database: {_describe_db(settings.effective_database_url)}; artifacts: {core.store.kind}; "
          f"live bus: {core.bus.kind}; API docs: /docs)", flush=True)
    dash_app.run(host=settings.host, port=settings.port, debug=settings.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
