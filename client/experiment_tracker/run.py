"""A live run: params, tags, metrics (queued, never blocking), artifacts, finish; a context manager."""
from __future__ import annotations

import logging
import math
import re
import shutil
import threading
import time
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

from experiment_tracker.batching import Item
from experiment_tracker.errors import ServerUnreachable, TrackerError

if TYPE_CHECKING:
    from experiment_tracker.tracker import Tracker

log = logging.getLogger("experiment_tracker")
KEY_RE = re.compile(r"^[\w][\w .\-/:]*$")
MAX_KEY = 250
TERMINAL = ("FINISHED", "FAILED", "KILLED")
_active: ContextVar[Tuple["Run", ...]] = ContextVar("experiment_tracker_active_runs", default=())


def active_run() -> Optional["Run"]:
    """The innermost run entered with `with` (or started by @tracker.track) in this context."""
    stack = _active.get()
    return stack[-1] if stack else None


def check_key(key: Any, what: str = "metric") -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or not KEY_RE.match(key):
        raise ValueError(f"{what} key {key!r}: 1-{MAX_KEY} characters of letters, digits, space and . - _ / : "
                         "(starting with a letter, digit or _)")
    return key


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Run:
    """Returned by Tracker.start_run / resume_run. Thread-safe for logging."""

    def __init__(self, tracker: "Tracker", data: Dict[str, Any], last_step: int = -1) -> None:
        self._tracker = tracker
        self.data = data
        self.id: str = data["id"]
        self.experiment_id: Optional[str] = data.get("experiment_id")
        self.name: Optional[str] = data.get("name")
        self.status: str = data.get("status") or "RUNNING"
        self._lock = threading.Lock()
        self._last_step = last_step
        self._ts_last = 0
        self._ts_keys: Set[Tuple[str, int]] = set()
        self._good_keys: Set[str] = set()
        self._warned: Set[str] = set()
        self._monitor: Any = None
        self._context_token: Any = None
        self.finished = False
        self.promotions: List[Dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} {self.status}>"

    # ------------------------------------------------------------ metrics

    def log_metric(self, key: str, value: float, step: Optional[int] = None,
                   timestamp: Optional[Union[int, float, datetime]] = None) -> None:
        self.log_metrics({key: value}, step=step, timestamp=timestamp)

    def log_metrics(self, metrics: Mapping[str, Any], step: Optional[int] = None,
                    timestamp: Optional[Union[int, float, datetime]] = None) -> None:
        """Queue values for one step and return at once; a background thread sends them in batches.

        step: a whole number; None means one past the highest step this run logged so far.
        timestamp: epoch milliseconds or a datetime; None means now (a timestamp you give must not repeat for
        the same key and step). Values must be numbers (numpy/torch scalars work);
        NaN and infinity cannot be stored by the API: they are skipped with a warning and counted in stats.
        """
        values: Dict[str, float] = {}
        for key, raw in metrics.items():
            if key not in self._good_keys:
                self._good_keys.add(check_key(key))
            value = float(raw)
            if math.isfinite(value):
                values[key] = value
            else:
                self._skip_nonfinite(key, value)
        if not values:
            return
        with self._lock:
            if step is None:
                step = self._last_step + 1
            elif isinstance(step, bool) or not isinstance(step, int):
                if not (hasattr(step, "__index__") and not isinstance(step, bool)):
                    raise TypeError(f"step must be a whole number, not {step!r}")
                step = int(step)  # numpy integers
            if step > self._last_step:
                self._last_step = step
            if timestamp is None:
                ts = self._timestamp(values, step)
            elif hasattr(timestamp, "timestamp"):  # datetime (naive means UTC, as on the server)
                moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=timezone.utc)
                ts = int(moment.timestamp() * 1000)
            else:
                ts = int(timestamp)
        self._tracker._enqueue(Item(self.id, step, ts, values))

    def _timestamp(self, values: Dict[str, float], step: int) -> int:
        """Now in ms, made unique per (key, step) within this run: two points of one key at one step never
        share a timestamp, so the server's 409 on a replayed batch can only mean "already stored"."""
        now = now_ms()
        if now > self._ts_last:
            self._ts_last, self._ts_keys = now, set()
        pairs = [(key, step) for key in values]
        if any(pair in self._ts_keys for pair in pairs):
            self._ts_last, self._ts_keys = self._ts_last + 1, set()
        self._ts_keys.update(pairs)
        return self._ts_last

    def _skip_nonfinite(self, key: str, value: float) -> None:
        self._tracker.stats.add(skipped_nonfinite=1)
        if key not in self._warned:
            self._warned.add(key)
            log.warning("experiment_tracker: run %s: metric %r is %s; the API stores finite numbers only, so such "
                        "values are skipped (counted in tracker.stats.skipped_nonfinite)", self.id, key, value)

    def _emit_system(self, metrics: Dict[str, float], step: int) -> None:
        """System metrics keep their own step (the sample number) and leave the run's step counter alone."""
        values = {k: v for k, v in metrics.items() if math.isfinite(v)}
        if values:
            with self._lock:
                ts = self._timestamp(values, step)
            self._tracker._enqueue(Item(self.id, step, ts, values))

    def start_system_metrics(self, interval: float = 10.0) -> None:
        """Sample cpu, memory, disk and GPU (psutil, nvidia-smi) every `interval` s as system/... metrics."""
        if self._monitor is None:
            from experiment_tracker.system import SystemMonitor

            self._monitor = SystemMonitor(self._emit_system, interval)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until this run's queued and spooled points are on the server; False if the timeout passed."""
        return self._tracker.flush(timeout, run_id=self.id)

    # ------------------------------------------------------------ params, tags, artifacts

    def _patch(self, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """PATCH the run; when the server is unreachable the change is spooled and replayed later."""
        try:
            data = self._tracker.transport.call("PATCH", f"/api/v1/runs/{self.id}", body)
        except ServerUnreachable as exc:
            self._tracker._spool_record(self.id, "patch", body)
            log.warning("experiment_tracker: run %s: %s; the change is spooled and will be replayed", self.id, exc)
            return None
        self.data.update({k: v for k, v in data.items()})
        return data

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Parameters are write-once: the same value again is fine, a different one raises TrackerError (409)."""
        for key in params:
            check_key(key, "parameter")
        if params:
            self._patch({"parameters": dict(params)})

    def set_tag(self, key: str, value: Optional[str] = "") -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Optional[str]]) -> None:
        """Set tags (a value of None removes the tag)."""
        for key in tags:
            check_key(key, "tag")
        if tags:
            self._patch({"tags": {k: (None if v is None else str(v)) for k, v in tags.items()}})

    def log_artifact(self, path: Union[str, Path], name: Optional[str] = None, type: Optional[str] = None,
                     metadata: Optional[Mapping[str, Any]] = None) -> List[Dict[str, Any]]:
        """Upload a file (or every file under a directory) with multipart POST /runs/{id}/artifacts.

        name: the artifact's name (a relative path; default the file name, or <dir name>/<relative path>).
        When the server is unreachable the file is copied to the spool and uploaded on replay.
        """
        source = Path(path)
        if source.is_dir():
            prefix = name or source.name
            files = [(p, f"{prefix}/{p.relative_to(source).as_posix()}") for p in sorted(source.rglob("*"))
                     if p.is_file()]
        elif source.is_file():
            files = [(source, name or source.name)]
        else:
            raise FileNotFoundError(f"no file or directory at {source}")
        return [r for r in (self._upload(p, n, type, metadata) for p, n in files) if r is not None]

    def _upload(self, path: Path, name: str, kind: Optional[str],
                metadata: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
        import json

        fields = {"name": name, "type": kind or "other"}
        if metadata:
            fields["metadata"] = json.dumps(dict(metadata))
        transport = self._tracker.transport
        try:
            with open(path, "rb") as handle:
                response = transport.request("POST", f"/api/v1/runs/{self.id}/artifacts", data=fields,
                                             files={"file": (path.name, handle)})
        except ServerUnreachable as exc:
            copy = self._tracker.spool.attachment_path(self.id, path.name)
            shutil.copyfile(path, copy)
            self._tracker._spool_record(self.id, "artifact", fields, file=str(copy))
            log.warning("experiment_tracker: run %s: %s; %s is spooled and will be uploaded later", self.id, exc, path)
            return None
        if response.status_code >= 400:
            raise TrackerError.from_response(response)
        return response.json()

    def register_artifact(self, name: str, path: str, type: Optional[str] = None, size_bytes: Optional[int] = None,
                          metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Record an artifact that lives elsewhere (e.g. s3://experiments/run-001/model.pkl) without uploading."""
        return self._tracker.transport.call("POST", f"/api/v1/runs/{self.id}/artifacts", {
            "name": name, "path": path, "type": type or "other", "size_bytes": size_bytes,
            "metadata": dict(metadata or {})})

    def log_feature_usage(self, feature_sets: Iterable[str], feature_importance: Any = None) -> Dict[str, Any]:
        return self._tracker.log_feature_usage(self.id, feature_sets, feature_importance)

    # ------------------------------------------------------------ end

    def finish(self, status: str = "FINISHED", timeout: Optional[float] = None) -> None:
        """Flush this run's metrics (up to `timeout` s, default Tracker.finish_timeout; what is not delivered
        by then stays spooled and keeps being sent), set the status and end time, then fire the experiment's
        model-promotion hooks when the run FINISHED and meets their criteria."""
        if status not in TERMINAL:
            raise ValueError(f"status must be one of {', '.join(TERMINAL)}")
        if self.finished:
            return
        self.finished = True
        if self._monitor is not None:
            self._monitor.stop()
        tracker = self._tracker
        delivered = self.flush(tracker.finish_timeout if timeout is None else timeout)
        stored = self._patch({"status": status, "end_time": now_ms()}) is not None
        self.status = status
        if status == "FINISHED" and delivered and stored:
            try:
                self.promotions = tracker.fire_promotion_hooks(self.id)
            except TrackerError as exc:
                log.warning("experiment_tracker: run %s: promotion hooks not evaluated: %s", self.id, exc)
        tracker._run_ended(self)

    def __enter__(self) -> "Run":
        self._context_token = _active.set(_active.get() + (self,))
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if self._context_token is not None:
            _active.reset(self._context_token)
            self._context_token = None
        if exc_type is None:
            self.finish("FINISHED")
        else:
            status = "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"
            try:  # the training code's exception must come through, not one of ours
                self.set_tags({"error": f"{exc_type.__name__}: {exc}"[:5000]})
                self.finish(status)
            except Exception as ours:  # noqa: BLE001
                log.warning("experiment_tracker: run %s: could not record the failure: %s", self.id, ours)
        return False
