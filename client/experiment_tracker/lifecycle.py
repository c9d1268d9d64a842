"""Interpreter exit: runs left open are ended (FAILED after an uncaught exception, else FINISHED) and every
live Tracker is flushed briefly, the rest spooled for the next start."""
from __future__ import annotations

import atexit
import logging
import sys
import weakref
from typing import Any, Callable, List

log = logging.getLogger("experiment_tracker")
_live: "weakref.WeakSet[Any]" = weakref.WeakSet()


def track(tracker: Any) -> None:
    _live.add(tracker)


def untrack(tracker: Any) -> None:
    _live.discard(tracker)


_uncaught: List[BaseException] = []


def _note_uncaught(previous: Callable[..., Any]) -> Callable[..., Any]:
    def hook(kind: Any, value: BaseException, tb: Any) -> None:
        _uncaught.append(value)
        previous(kind, value, tb)

    return hook


sys.excepthook = _note_uncaught(sys.excepthook)


@atexit.register
def _close_all() -> None:
    """At interpreter exit: end runs still open (FAILED after an uncaught exception, else FINISHED), flush
    briefly and spool the rest, so the next start replays it."""
    status = "FAILED" if _uncaught else "FINISHED"
    for tracker in list(_live):
        try:
            for run in list(tracker._runs.values()):
                if not run.finished:
                    run.finish(status)
            tracker.close(timeout=tracker.finish_timeout)
        except Exception:  # noqa: BLE001 - never turn exit into a traceback
            log.debug("closing a tracker at exit failed", exc_info=True)
