"""Python client of Experiment Tracking 2.0.

    from experiment_tracker import Tracker
    tracker = Tracker("http://127.0.0.1:8003", token="et_...")
    with tracker.start_run(experiment_id, name="run-001", parameters={"alpha": 0.1}) as run:
        for step in range(100):
            run.log_metrics({"loss": 1 / (step + 1)}, step=step)   # queued; never blocks training

Module-level get_best_run / register_model_promotion_hook / log_feature_usage / start_run use a default
Tracker built from EXPERIMENT_TRACKER_URL and EXPERIMENT_TRACKER_TOKEN (or _USERNAME/_PASSWORD).
"""
from __future__ import annotations

import threading
from typing import Any, Optional

from experiment_tracker.errors import NotFoundError, ServerUnreachable, TrackerError
from experiment_tracker.results import RunInfo
from experiment_tracker.run import Run, active_run
from experiment_tracker.tracker import Tracker

__version__ = "0.1.0"
__all__ = ["NotFoundError", "Run", "RunInfo", "ServerUnreachable", "Tracker", "TrackerError", "active_run",
           "default_tracker", "get_best_run", "log_feature_usage", "register_model_promotion_hook", "start_run"]

_default: Optional[Tracker] = None
_default_lock = threading.Lock()


def default_tracker() -> Tracker:
    """The Tracker the module-level functions use (configured from the environment on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Tracker()
        return _default


def start_run(experiment_id: str, **kw: Any) -> Run:
    return default_tracker().start_run(experiment_id, **kw)


def get_best_run(experiment_id: str, metric: str, mode: str = "max", **kw: Any) -> Optional[RunInfo]:
    return default_tracker().get_best_run(experiment_id, metric=metric, mode=mode, **kw)


def register_model_promotion_hook(experiment_id: str, criteria: Any, registry_url: str, **kw: Any) -> Any:
    return default_tracker().register_model_promotion_hook(experiment_id, criteria, registry_url, **kw)


def log_feature_usage(run_id: str, feature_sets: Any, feature_importance: Any = None) -> Any:
    return default_tracker().log_feature_usage(run_id, feature_sets, feature_importance)
