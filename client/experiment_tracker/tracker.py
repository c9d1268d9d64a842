"""Tracker: the entry point. Projects, experiments and runs over the v1 API, the background metric sender and
its disk spool, best run, DataFrames, model-promotion hooks and feature usage."""
from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from experiment_tracker import environment as env_capture
from experiment_tracker import lifecycle
from experiment_tracker.batching import Item, PointQueue
from experiment_tracker.errors import NotFoundError, ServerUnreachable
from experiment_tracker.transport import Transport
from experiment_tracker.promotion import fire_hooks
from experiment_tracker.results import RunInfo, runs_frame
from experiment_tracker.run import Run, active_run
from experiment_tracker.sender import Sender, Stats
from experiment_tracker.spool import Spool

log = logging.getLogger("experiment_tracker")
DEFAULT_URL = "http://127.0.0.1:8003"
_SCALARS = (str, int, float, bool, type(None))


class Tracker:
    """Talks to one server. Metrics are queued in memory (bounded) and sent by one background thread in
    batches of ≤ batch_points; what cannot be delivered is spooled under spool_dir and replayed on reconnect,
    by resume_run, and by the next Tracker started against the same server.

    Arguments fall back to EXPERIMENT_TRACKER_URL, _TOKEN, _USERNAME, _PASSWORD and _SPOOL_DIR.
    """

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, username: Optional[str] = None,
                 password: Optional[str] = None, spool_dir: Optional[Union[str, Path]] = None,
                 queue_capacity: int = 200_000, batch_points: int = 1000, linger: float = 0.5,
                 block_timeout: float = 0.5, request_timeout: float = 30.0, retries: int = 4,
                 max_backoff: float = 10.0, finish_timeout: float = 30.0, capture_environment: bool = True,
                 replay_spool: bool = True, registry_headers: Optional[Mapping[str, str]] = None,
                 verify: Any = True) -> None:
        if not 1 <= batch_points <= 1000:
            raise ValueError("batch_points must be between 1 and 1000")
        url = url or os.environ.get("EXPERIMENT_TRACKER_URL") or DEFAULT_URL
        token = token or os.environ.get("EXPERIMENT_TRACKER_TOKEN")
        if token is None:
            username = username or os.environ.get("EXPERIMENT_TRACKER_USERNAME")
            password = password or os.environ.get("EXPERIMENT_TRACKER_PASSWORD")
        self.transport = Transport(url, token, username, password, timeout=request_timeout, retries=retries,
                                   max_backoff=max_backoff, verify=verify)
        self.url = self.transport.base
        self.block_timeout = block_timeout
        self.finish_timeout = finish_timeout
        self.capture_environment = capture_environment
        self.registry_headers = dict(registry_headers or {})
        spool_dir = spool_dir or os.environ.get("EXPERIMENT_TRACKER_SPOOL_DIR")
        self.spool = Spool(Path(spool_dir) if spool_dir else None, self.url)
        self.queue = PointQueue(queue_capacity)
        self.sender = Sender(self.transport, self.queue, self.spool, batch_points=batch_points, linger=linger,
                             max_backoff=max_backoff, request_timeout=request_timeout)
        self._runs: Dict[str, Run] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.sender.start()
        if replay_spool:
            for run_id in self.spool.leftovers():
                if self.sender.adopt(run_id):
                    log.info("experiment_tracker: replaying spooled data of run %s", run_id)
        lifecycle.track(self)

    # ------------------------------------------------------------ plumbing

    @property
    def stats(self) -> Stats:
        """Point counters: logged, delivered, spooled (waiting on disk), replayed, duplicates, rejected, …"""
        return self.sender.stats

    @property
    def online(self) -> bool:
        return self.sender.online

    def _call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        return self.transport.call(method, path, body, **kw)

    def _enqueue(self, item: Item) -> None:
        self.sender.stats.add(logged=len(item.metrics))
        if self.queue.put(item, self.block_timeout):
            return
        # The queue stayed full: move its oldest contents to disk from this thread rather than drop anything.
        self.sender.spill(self.queue.take_nowait(max(len(self.queue) // 2, 1)))
        if not self.queue.put(item, 0):
            self.sender.spill([item], queued=False)

    def _spool_record(self, run_id: str, kind: str, body: Dict[str, Any], **extra: Any) -> None:
        self.spool.claim(run_id)
        self.spool.write(run_id, kind, body, **extra)
        if run_id not in self._runs:
            self.sender.adopt(run_id)

    def flush(self, timeout: Optional[float] = None, run_id: Optional[str] = None) -> bool:
        """Wait until everything queued (and spooled) is on the server; False when the timeout passed first."""
        return self.sender.flush(timeout, run_id)

    def close(self, timeout: float = 10.0) -> bool:
        """Flush up to `timeout` s, stop the sender, spool whatever is left; True when nothing was left."""
        if self._closed:
            return True
        self._closed = True
        delivered = self.flush(timeout)
        self.sender.stop()
        for run_id in self.spool.claimed():
            self.spool.release(run_id)
        lifecycle.untrack(self)
        return delivered

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ projects and experiments

    def create_project(self, name: str, team: Optional[str] = None, description: str = "",
                       tags: Sequence[str] = ()) -> Dict[str, Any]:
        return self._call("POST", "/api/v1/projects", {"name": name, "team": team, "description": description,
                                                       "tags": list(tags)})

    def list_projects(self, team: Optional[str] = None, tag: Optional[str] = None) -> List[Dict[str, Any]]:
        return list(self.transport.pages("/api/v1/projects", {"team": team, "tag": tag}))

    def get_or_create_project(self, name: str, team: Optional[str] = None, **fields: Any) -> Dict[str, Any]:
        for project in self.list_projects(team=team):
            if project["name"] == name:
                return project
        return self.create_project(name, team=team, **fields)

    def create_experiment(self, project_id: str, name: str, **fields: Any) -> Dict[str, Any]:
        """fields: description, hypothesis, tags, type, domain, metrics, validation_criteria, …"""
        return self._call("POST", "/api/v1/experiments", {"project_id": project_id, "name": name, **fields})

    def get_experiment(self, experiment_id: str) -> Dict[str, Any]:
        return self._call("GET", f"/api/v1/experiments/{experiment_id}")

    def list_experiments(self, project_id: Optional[str] = None) -> List[Dict[str, Any]]:
        return list(self.transport.pages("/api/v1/experiments", {"project_id": project_id}))

    def get_or_create_experiment(self, project_id: str, name: str, **fields: Any) -> Dict[str, Any]:
        for experiment in self.list_experiments(project_id):
            if experiment["name"] == name:
                return experiment
        return self.create_experiment(project_id, name, **fields)

    # ------------------------------------------------------------ runs

    def start_run(self, experiment_id: str, name: Optional[str] = None,
                  parameters: Optional[Mapping[str, Any]] = None, *, tags: Optional[Mapping[str, str]] = None,
                  environment: Optional[Mapping[str, Any]] = None, parent_run_id: Optional[str] = None,
                  git_commit: Optional[str] = None, capture_environment: Optional[bool] = None,
                  system_metrics: Union[bool, float] = False) -> Run:
        """Create a RUNNING run. Captures Python, platform, packages and git (commit, dirty diff) into its
        environment unless capture_environment=False; system_metrics=True (or seconds) samples cpu/memory/GPU.
        Use it as a context manager: FINISHED on a clean exit, FAILED on an exception (KILLED on Ctrl-C)."""
        captured: Dict[str, Any] = {}
        if self.capture_environment if capture_environment is None else capture_environment:
            captured, commit = env_capture.capture()
            git_commit = git_commit or commit
        body = {"name": name, "parameters": dict(parameters or {}), "environment": {**captured, **(environment or {})},
                "tags": dict(tags or {}), "parent_run_id": parent_run_id, "git_commit": git_commit}
        data = self._call("POST", f"/api/v1/experiments/{experiment_id}/runs", body)
        run = self._adopt_run(Run(self, data))
        if system_metrics:
            run.start_system_metrics(10.0 if system_metrics is True else float(system_metrics))
        return run

    def resume_run(self, run_id: str, reopen: bool = True) -> Run:
        """Continue logging to an existing run: replays what is spooled for it, continues its step count, and
        (reopen=True) sets a finished run back to RUNNING. Works offline too: then everything is spooled."""
        try:
            data = self._call("GET", f"/api/v1/runs/{run_id}")
        except ServerUnreachable as exc:
            log.warning("experiment_tracker: %s; resuming run %s offline", exc, run_id)
            data = {"id": run_id, "status": "RUNNING"}
        steps = [s.get("last_step") for s in (data.get("metrics") or {}).values() if s.get("last_step") is not None]
        run = self._adopt_run(Run(self, data, last_step=max(steps, default=-1)))
        if reopen and data.get("status") != "RUNNING":
            run._patch({"status": "RUNNING"})
            run.status = "RUNNING"
        return run

    def _adopt_run(self, run: Run) -> Run:
        if not self.spool.claim(run.id):
            log.warning("experiment_tracker: another process holds the spool of run %s; its leftovers are replayed "
                        "there", run.id)
        with self._lock:
            self._runs[run.id] = run
        if self.spool.pending(run.id):
            self.sender.wake()
        return run

    def _run_ended(self, run: Run) -> None:
        with self._lock:
            self._runs.pop(run.id, None)
        if run.id in self.spool.claimed():
            self.sender.adopt(run.id)  # keeps replaying what is left, then lets the directory go

    def get_run(self, run_id: str) -> RunInfo:
        data = self._call("GET", f"/api/v1/runs/{run_id}")
        data["artifacts"] = list(self.transport.pages(f"/api/v1/runs/{run_id}/artifacts"))
        return RunInfo.from_api(data)

    def list_runs(self, experiment_id: str, status: Optional[str] = None) -> List[Dict[str, Any]]:
        return list(self.transport.pages(f"/api/v1/experiments/{experiment_id}/runs", {"status": status}))

    def metric_history(self, run_id: str, key: str) -> List[Dict[str, Any]]:
        """Every point of one metric: [{step, timestamp, value}], in step order."""
        return list(self.transport.pages(f"/api/v1/runs/{run_id}/metrics/{key}", limit=25_000))

    def active_run(self) -> Optional[Run]:
        return active_run()

    def track(self, experiment_id: str, name: Optional[str] = None, parameters: Optional[Mapping[str, Any]] = None,
              log_args: bool = True, **run_options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: each call of the function is a run (named after it). Its scalar arguments become params
        (log_args); a parameter named `run` receives the Run. FINISHED on return, FAILED on an exception."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            signature = inspect.signature(fn)
            wants_run = "run" in signature.parameters

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                params = dict(parameters or {})
                if log_args:
                    bound = signature.bind_partial(*args, **kwargs)
                    bound.apply_defaults()
                    params.update({k: v for k, v in bound.arguments.items()
                                   if k != "run" and isinstance(v, _SCALARS)})
                with self.start_run(experiment_id, name=name or fn.__name__, parameters=params,
                                    **run_options) as run:
                    if wants_run and "run" not in kwargs:
                        kwargs["run"] = run
                    return fn(*args, **kwargs)

            return wrapper

        return decorate

    # ------------------------------------------------------------ reading results

    def get_best_run(self, experiment_id: str, metric: str, mode: str = "max", summary: str = "last",
                     status: Optional[str] = None) -> Optional[RunInfo]:
        """The run with the best `summary` (last, min or max) of `metric`; None when no run logged it."""
        try:
            data = self._call("GET", f"/api/v1/experiments/{experiment_id}/best-run",
                              params={k: v for k, v in {"metric": metric, "mode": mode, "summary": summary,
                                                        "status": status}.items() if v is not None})
        except NotFoundError as exc:
            if exc.field == "metric":
                return None
            raise
        return RunInfo.from_api(data)

    def runs_dataframe(self, experiment_id: str, status: Optional[str] = None,
                       summaries: Sequence[str] = ("last", "min", "max"), workers: int = 4) -> Any:
        """pandas DataFrame indexed by run id: run fields, params.<k>, tags.<k>, metrics.<k> (last value) and
        metrics.<k>.min / .max (choose with `summaries`). Needs the [pandas] extra."""
        ids = [r["id"] for r in self.list_runs(experiment_id, status)]
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            runs = list(pool.map(lambda rid: self._call("GET", f"/api/v1/runs/{rid}"), ids))
        return runs_frame(runs, summaries)

    # ------------------------------------------------------------ the seed's integrations

    def register_model_promotion_hook(self, experiment_id: str, criteria: Mapping[str, str], registry_url: str,
                                      name: Optional[str] = None) -> Dict[str, Any]:
        """Store a hook on the experiment: when a run finishes with every criterion met (e.g.
        {"accuracy": ">= 0.95"}; "max >= 0.95" ranks the run's maximum instead of its last value), the run is
        POSTed to the model registry at registry_url (a bare host gets /api/v1/models appended)."""
        return self._call("POST", f"/api/v1/experiments/{experiment_id}/promotion-hooks",
                          {"criteria": dict(criteria), "registry_url": registry_url, "name": name})

    def list_promotion_hooks(self, experiment_id: str) -> List[Dict[str, Any]]:
        return self._call("GET", f"/api/v1/experiments/{experiment_id}/promotion-hooks")["items"]

    def delete_promotion_hook(self, experiment_id: str, hook_id: str) -> None:
        self._call("DELETE", f"/api/v1/experiments/{experiment_id}/promotion-hooks/{hook_id}")

    def fire_promotion_hooks(self, run_id: str) -> List[Dict[str, Any]]:
        """Evaluate the hooks of the run's experiment and register the run where they are met (once per hook;
        the outcome is the run's tag promotion/<hook id>). Run.finish calls this for FINISHED runs."""
        return fire_hooks(self.transport, run_id, self.registry_headers)

    def log_feature_usage(self, run_id: str, feature_sets: Iterable[str],
                          feature_importance: Any = None) -> Dict[str, Any]:
        """Record which feature-store sets a run used and how important each feature was (a dict, a pandas
        Series, or (name, value) pairs). Merged with earlier calls; shown by GET /runs/{id}/feature-usage."""
        return self._call("POST", f"/api/v1/runs/{run_id}/feature-usage",
                          {"feature_sets": list(feature_sets or []),
                           "feature_importance": _importance(feature_importance)})

    def get_feature_usage(self, run_id: str) -> Dict[str, Any]:
        return self._call("GET", f"/api/v1/runs/{run_id}/feature-usage")


def _importance(raw: Any) -> Dict[str, float]:
    if raw is None:
        return {}
    if hasattr(raw, "to_dict"):  # pandas Series
        raw = raw.to_dict()
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    return {str(name): float(value) for name, value in pairs}
