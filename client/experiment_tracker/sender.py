"""The background sender: drains the point queue into batch requests, spools what it cannot deliver, replays it.

Every batch is written to the spool before it is sent and removed once the server acknowledged it (201, or a
409 conflict on a batch that may have been stored already: the batch is all-or-nothing and never changes, so
the conflict means it is there). A point therefore lives in memory or on disk until the server has it.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from experiment_tracker.batching import Batch, Item, PointQueue, build_batches
from experiment_tracker.errors import ServerUnreachable, TrackerError
from experiment_tracker.transport import NETWORK_ERRORS, Transport, backoff_delay, error_code, error_message
from experiment_tracker.spool import Spool
from experiment_tracker.stats import Stats

log = logging.getLogger("experiment_tracker")
TAKE_POINTS = 10_000  # per loop turn, before the sender looks at the spool again
REPLAY_RECORDS = 20  # spool records replayed per loop turn


class Sender:
    def __init__(self, transport: Transport, queue: PointQueue, spool: Spool, *, batch_points: int = 1000,
                 linger: float = 0.5, retries: int = 2, max_backoff: float = 10.0,
                 request_timeout: float = 30.0) -> None:
        self.transport = transport
        self.queue = queue
        self.spool = spool
        self.batch_points = batch_points
        self.linger = linger
        self.retries = retries
        self.max_backoff = max_backoff
        self.request_timeout = request_timeout
        self.stats = Stats()
        self.online = True
        self.last_error: Optional[str] = None
        self._probe_at = 0.0
        self._probe_delay = 0.2
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._replaying: Set[str] = set()  # leftover runs claimed only to replay them
        self._thread = threading.Thread(target=self._loop, name="experiment-tracker-sender", daemon=True)

    # ------------------------------------------------------------ control

    def start(self) -> None:
        self._thread.start()

    def adopt(self, run_id: str) -> bool:
        """Replay a leftover spool directory (claimed here); False when another process holds it."""
        if not self.spool.claim(run_id):
            return False
        self._replaying.add(run_id)
        self.wake()
        return True

    def wake(self) -> None:
        self._probe_at = 0.0
        self.queue.hurry()

    def flush(self, timeout: Optional[float] = None, run_id: Optional[str] = None) -> bool:
        """Wait until every queued point is delivered (True) or the timeout passes (False; the rest is safe
        in the queue or on disk and keeps going)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.wake()
        with self._progress:
            while not (self.queue.idle() and self.spool.pending(run_id) == 0):
                if not self._thread.is_alive():
                    return False
                remaining = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
                if remaining <= 0:
                    return False
                self._progress.wait(remaining)
                self.queue.hurry()
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; whatever is still queued goes to the spool (replayed by the next Tracker)."""
        self._stop.set()
        self.queue.hurry()
        self._thread.join(timeout)
        self.spill(self.queue.take_nowait(len(self.queue) + 1))

    def spill(self, items: List[Item], queued: bool = True) -> None:
        """Write items straight to the spool (queue full, or stopping). Called from any thread; `queued`: the
        items were taken from the queue, which is told they are settled."""
        if not items:
            return
        try:
            for batch in build_batches(items, self.batch_points):
                self._spool(batch)
                self.stats.add(spilled=batch.points)
        finally:
            if queued:
                self.queue.settle(sum(len(i.metrics) for i in items))

    # ------------------------------------------------------------ the loop

    def _loop(self) -> None:
        while not (self._stop.is_set() and self.queue.idle()):
            items = self.queue.take(TAKE_POINTS, self._linger(), self._stop)
            try:
                for batch in build_batches(items, self.batch_points):
                    self._fresh(batch)
            except Exception:  # never let the thread die: the points are in the spool already
                log.exception("experiment_tracker: sending metrics failed")
            finally:
                self.queue.settle(sum(len(i.metrics) for i in items))
            try:
                self._replay()
            except Exception:
                log.exception("experiment_tracker: replaying the spool failed")
            with self._progress:
                self._progress.notify_all()

    def _linger(self) -> float:
        """How long to wait for points to coalesce: not at all while a reachable server has spool to replay."""
        if not self.online:
            return min(self.linger, 0.2)
        return 0.0 if self.spool.pending() else self.linger

    def _spool(self, batch: Batch) -> None:
        batch.path = self.spool.write(batch.run_id, "metrics", batch.body(), batch.points)
        self.stats.add(spooled=batch.points)

    def _fresh(self, batch: Batch) -> None:
        try:
            self._spool(batch)  # write-ahead: the batch is on disk until the server has it
        except OSError as exc:
            batch.path = None
            log.error("experiment_tracker: cannot write the spool %s: %s", self.spool.dir, exc)
        attempted = self.online
        if attempted and self._post(batch, self.retries) == "ok":
            if batch.path is not None:
                self.spool.remove(batch.path)  # type: ignore[arg-type]
                self.stats.add(spooled=-batch.points)
            return
        if batch.path is None:
            self.stats.add(lost=batch.points)
            log.error("experiment_tracker: %d metric values of run %s are LOST: the server is unreachable and the "
                      "spool cannot be written", batch.points, batch.run_id)
        if attempted:
            self._went_down()

    def _went_down(self) -> None:
        if self.online:
            log.warning("experiment_tracker: %s is unreachable (%s); spooling metrics to %s and retrying",
                        self.transport.base, self.last_error, self.spool.dir)
        self.online = False
        self._probe_at = time.monotonic() + self._probe_delay
        self._probe_delay = min(self._probe_delay * 2, self.max_backoff)

    def _came_back(self) -> None:
        if not self.online:
            log.warning("experiment_tracker: %s answers again; replaying the spool", self.transport.base)
        self.online = True
        self._probe_delay = 0.2

    # ------------------------------------------------------------ one batch

    def _post(self, batch: Batch, retries: int) -> str:
        """"ok" when the batch is settled (stored, or split and settled piecewise, or refused for good and
        buried); "down" when the server could not be reached."""
        path = f"/api/v1/runs/{batch.run_id}/metrics"
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, 0.1, 1.0))
            try:
                response = self.transport.send("POST", path, batch.body(), timeout=self.request_timeout)
            except NETWORK_ERRORS as exc:
                batch.uncertain, self.last_error = True, f"{type(exc).__name__}"
                continue
            except ServerUnreachable as exc:  # signing in again failed
                self.last_error = str(exc)
                continue
            except TrackerError as exc:  # username/password refused: keep the data until a working Tracker
                self.last_error = str(exc)
                return "down"
            self.stats.add(requests=1)
            status, code = response.status_code, error_code(response)
            if status in (200, 201):
                self.stats.add(delivered=batch.points)
                return "ok"
            if status == 409 and code == "conflict":
                if batch.uncertain:
                    self.stats.add(delivered=batch.points, conflicts_as_stored=1)
                    return "ok"
                return self._split(batch, "already stored")
            if status in (400, 413):
                return self._split(batch, error_message(response))
            if status == 429 or status >= 500:
                batch.uncertain = batch.uncertain or status >= 500
                self.last_error = f"HTTP {status}"
                continue
            if status == 401:
                self.last_error = f"401 {error_message(response)}"
                return "down"  # keep it: a valid token may come (the next Tracker)
            self._bury(batch, f"HTTP {status} {code}: {error_message(response)}")
            return "ok"
        return "down"

    def _split(self, batch: Batch, reason: str) -> str:
        if batch.points <= 1:
            if reason == "already stored":
                self.stats.add(duplicates=batch.points)
                log.warning("experiment_tracker: run %s: %s was already logged with the same step and timestamp",
                            batch.run_id, batch.steps)
            else:
                self._bury(batch, reason)
            return "ok"
        for half in batch.halves():
            if self._post(half, self.retries) == "down":
                self._spool(half)
                self._went_down()
        return "ok"

    def _bury(self, batch: Batch, reason: str) -> None:
        self.stats.add(rejected=batch.points)
        where = self.spool.bury_record(batch.run_id, {"kind": "metrics", "body": batch.body(),
                                                      "points": batch.points}, reason)
        log.error("experiment_tracker: the server refused %d metric value(s) of run %s: %s (kept in %s)",
                  batch.points, batch.run_id, reason, where)

    # ------------------------------------------------------------ the spool

    def _replay(self) -> None:
        if self.spool.pending() == 0:
            self._release_replayed()
            if not self.online:
                self._came_back()
            return
        if not self.online and time.monotonic() < self._probe_at:
            return
        budget = REPLAY_RECORDS
        for run_id in self.spool.claimed():
            for path in self.spool.records(run_id, budget):
                outcome = self._replay_one(path)
                if outcome == "down":
                    self._went_down()
                    return
                self._came_back()
                budget -= 1
                if budget <= 0:
                    return
        self._release_replayed()

    def _release_replayed(self) -> None:
        for run_id in list(self._replaying):
            if self.spool.pending(run_id) == 0:
                self._replaying.discard(run_id)
                self.spool.release(run_id)

    def _replay_one(self, path: Path) -> str:
        record = self.spool.read(path)
        if record is None:
            return "ok"
        kind, run_id = record.get("kind"), record.get("run_id") or path.parent.name
        if kind == "metrics":
            batch = Batch(run_id, record["body"]["steps"], record.get("points", 0), uncertain=True)
            outcome = self._post(batch, 0)
            if outcome == "ok":
                mine = record.get("session") == self.spool.session  # `spooled` counts this session's records
                self.stats.add(replayed=batch.points, spooled=-batch.points if mine else 0)
        elif kind == "patch":
            outcome = self._simple(path, record, lambda: self.transport.send(
                "PATCH", f"/api/v1/runs/{run_id}", record["body"], timeout=self.request_timeout))
        elif kind == "artifact":
            outcome = self._simple(path, record, lambda: _upload(self.transport, run_id, record,
                                                                 self.request_timeout))
        else:
            self.spool.bury(path, f"unknown record kind {kind!r}")
            return "ok"
        if outcome == "ok":
            self.spool.remove(path, record)
        return outcome

    def _simple(self, path: Path, record: Dict[str, Any], send: Any) -> str:
        try:
            response = send()
        except (TrackerError, *NETWORK_ERRORS) as exc:
            self.last_error = type(exc).__name__
            return "down"
        except OSError as exc:  # the artifact's copy vanished
            self.spool.bury(path, f"cannot read the file: {exc}")
            return "settled"
        self.stats.add(requests=1)
        if response.status_code < 400:
            return "ok"
        if response.status_code == 429 or response.status_code >= 500 or response.status_code == 401:
            self.last_error = f"HTTP {response.status_code}"
            return "down"
        reason = f"HTTP {response.status_code} {error_code(response)}: {error_message(response)}"
        log.error("experiment_tracker: the server refused a spooled %s of run %s: %s", record.get("kind"),
                  record.get("run_id"), reason)
        self.spool.bury(path, reason)
        return "settled"


def _upload(transport: Transport, run_id: str, record: Dict[str, Any], timeout: float) -> Any:
    fields = record["body"]
    with open(record["file"], "rb") as handle:
        return transport.send("POST", f"/api/v1/runs/{run_id}/artifacts", data=fields, timeout=timeout,
                              files={"file": (fields.get("name") or Path(record["file"]).name, handle)})
