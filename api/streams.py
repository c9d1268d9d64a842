"""Live metric streams over WebSocket (flask-sock):

    WebSocket /api/v1/runs/{run_id}/metrics/stream              every batch logged to the run
    WebSocket /api/v1/experiments/{experiment_id}/metrics/live  every batch logged to any run of the experiment

Each text frame is the seed's message: {"run_id": ..., "metrics": {"step": 150, "accuracy": 0.954, ...},
"timestamp": "2024-01-15T10:35:00Z"} (the latest step of each logged batch, NaN as null).

Authentication is the API's: `Authorization: Bearer <token>` (or HTTP Basic, or a signed-in dashboard session
from the same origin). Browsers cannot set headers on a WebSocket, so `?token=<token>` is accepted on these two
paths only and means exactly the Bearer header; prefer the header where you can, since URLs end up in access logs.
A missing or unknown token is refused before the upgrade with HTTP 401 and the error envelope.

After the upgrade, a refusal is one text frame with the error envelope {"error": {"code", "message", "field"}},
then a close with code 4000 + the HTTP status: 4404 (the run or experiment does not exist or is not visible to
you, also when access is lost or the run deleted while streaming: re-checked every 30 s), 4429 (this process
already serves its limit of streams, MAX_CONCURRENT_VISUALIZATIONS), 4403 (a session-authenticated connection
from another origin), 1011 (the live bus, Redis, failed).

The server pings every 25 s (SOCK_SERVER_OPTIONS["ping_interval"]); a client that misses a pong is dropped and
its subscription closed. Messages the client sends are read and ignored. Under gunicorn each stream holds a
thread for its lifetime: run the gthread worker (`--threads N`) with N above the streams you expect per worker.
A plain HTTP GET on either path answers 426 with the envelope (documented in the OpenAPI spec).
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, request
from flask_openapi3 import APIBlueprint, Tag
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from api.common import CORE_KEY, ERRORS, SECURITY
from api.errors import envelope
from api.schemas import ErrorEnvelope, ExperimentPath, RunPath
from live import LiveError
from services import streams
from services.errors import Busy, Forbidden, ServiceError, Unauthorized

log = logging.getLogger(__name__)

RUN_PATH = "/api/v1/runs/<run_id>/metrics/stream"
EXPERIMENT_PATH = "/api/v1/experiments/<experiment_id>/metrics/live"
STREAM_PATHS = re.compile(r"^/api/v1/(runs/[^/]+/metrics/stream|experiments/[^/]+/metrics/live)/?$")
SLOTS_KEY = "et_stream_slots"
PING_INTERVAL = 25.0  # seconds between server pings; a missed pong closes the socket
MAX_CLIENT_MESSAGE = 64 * 1024  # bytes; clients have nothing to say, this only bounds what we read and drop
POLL_SECONDS = 1.0  # how long one wait on the bus lasts; bounds how late a closed socket is noticed
SEND_TIMEOUT = 10.0  # seconds a send may block on a client that stopped reading
LIVE_FAILED = 1011


def slots(server: Flask) -> streams.StreamSlots:
    return server.extensions[SLOTS_KEY]


def token_from_query() -> None:
    """`?token=` on the stream paths only: the same as `Authorization: Bearer <token>` (browsers cannot set it)."""
    if not STREAM_PATHS.match(request.path) or request.headers.get("Authorization"):
        return None
    token = request.args.get("token", "").strip()
    if token:
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return None


def _send_json(ws: Any, data: dict) -> None:
    ws.send(json.dumps(data, separators=(",", ":")))


def _refuse(ws: Any, exc: ServiceError, code: int | None = None) -> None:
    """The error envelope as the last frame, then a close whose code carries the status (4000 + status)."""
    try:
        _send_json(ws, exc.to_dict())
        ws.close(reason=code or streams.close_code(exc.status), message=exc.code[:100])
    except (ConnectionClosed, OSError):
        pass


def _cross_origin_session() -> bool:
    """A browser session (no Authorization) opening the socket from a page on another origin."""
    if request.headers.get("Authorization") or g.get("session_actor") is None:
        return False
    origin = request.headers.get("Origin")
    return bool(origin) and urlsplit(origin).netloc.lower() != request.host.lower()


def _drain(ws: Any) -> None:
    while ws.connected and ws.receive(timeout=0) is not None:
        pass


def _pump(ws: Any, stream: streams.Stream) -> None:
    """Forward messages until the client goes away, access is lost or the bus fails."""
    while ws.connected:
        _drain(ws)
        try:
            data = stream.next_message(POLL_SECONDS)
        except ServiceError as exc:
            _refuse(ws, exc)
            return
        except LiveError as exc:
            log.warning("live stream of %s %s ended: %s", stream.kind, stream.target_id, exc)
            _refuse(ws, ServiceError("the live update service is unavailable; reconnect later"), LIVE_FAILED)
            return
        if data is not None and ws.connected:
            _send_json(ws, data)


def serve(ws: Any, kind: str, target_id: str) -> None:
    """One stream: admission (actor, origin, slot), access check, subscription, then the pump."""
    who = g.get("actor")
    if who is None:  # the guard answers 401 before the upgrade; this is only a safety net
        _refuse(ws, Unauthorized("send Authorization: Bearer <token> or ?token=<token>"))
        return
    if _cross_origin_session():
        _refuse(ws, Forbidden("a signed-in session may only open streams from this server's own pages"))
        return
    bound = slots(current_app)
    if not bound.acquire():
        _refuse(ws, Busy(f"this server already serves its limit of {bound.limit} live streams; try again later"))
        return
    try:
        if ws.ping_interval:  # with pings the reader thread selects before recv, so a timeout only bounds sends
            ws.sock.settimeout(SEND_TIMEOUT)
        try:
            stream = streams.open_stream(current_app.extensions[CORE_KEY], who, kind, target_id)
        except ServiceError as exc:
            _refuse(ws, exc)
            return
        except LiveError as exc:
            log.warning("live stream of %s %s refused: %s", kind, target_id, exc)
            _refuse(ws, ServiceError("the live update service is unavailable; reconnect later"), LIVE_FAILED)
            return
        with stream:
            _pump(ws, stream)
    except OSError as exc:  # the client stopped reading (send timeout) or the socket broke
        log.debug("live stream of %s %s dropped: %s", kind, target_id, exc)
    finally:
        bound.release()


def _docs_blueprint() -> APIBlueprint:
    """Plain HTTP GET on the stream paths: 426, and the WebSocket protocol in the OpenAPI document."""
    bp = APIBlueprint("v1_streams_docs", __name__, url_prefix="/api/v1", abp_responses=ERRORS,
                      abp_security=SECURITY)
    tag = Tag(name="live", description=__doc__)
    upgrade = {426: ErrorEnvelope}

    def need_upgrade():  # noqa: ANN202
        return envelope(426, "upgrade_required", f"{request.path} is a WebSocket endpoint: connect with "
                        "Upgrade: websocket (ws:// or wss://)")

    @bp.get("/runs/<run_id>/metrics/stream", tags=[tag], responses=upgrade)
    def run_stream_http(path: RunPath):  # noqa: ANN202
        """WebSocket: the run's metrics as they are logged, one {run_id, metrics: {step, ...}, timestamp}
        frame per batch. Auth: Bearer header or ?token=. Closes 4404 when not visible, 4429 when busy."""
        return need_upgrade()

    @bp.get("/experiments/<experiment_id>/metrics/live", tags=[tag], responses=upgrade)
    def experiment_stream_http(path: ExperimentPath):  # noqa: ANN202
        """WebSocket: metrics of every run of the experiment as they are logged ({run_id, metrics, timestamp}).
        Auth: Bearer header or ?token=. Closes 4404 when not visible, 4429 when busy."""
        return need_upgrade()

    return bp


def register(server: Any) -> None:
    """The two WebSocket routes, their HTTP documentation routes, the stream bound and the ?token= hook."""
    server.config.setdefault("SOCK_SERVER_OPTIONS", {"ping_interval": PING_INTERVAL,
                                                     "max_message_size": MAX_CLIENT_MESSAGE})
    core = server.extensions[CORE_KEY]
    server.extensions[SLOTS_KEY] = streams.StreamSlots(core.settings.max_concurrent_visualizations)
    server.before_request_funcs.setdefault(None, []).insert(0, token_from_query)  # before the auth guard

    sockets = Blueprint("v1_streams", __name__)
    sock = Sock()

    @sock.route(RUN_PATH, bp=sockets)
    def run_metrics_stream(ws: Any, run_id: str) -> None:
        serve(ws, "run", run_id)

    @sock.route(EXPERIMENT_PATH, bp=sockets)
    def experiment_metrics_live(ws: Any, experiment_id: str) -> None:
        serve(ws, "experiment", experiment_id)

    server.register_blueprint(sockets)
    server.register_api(_docs_blueprint())
