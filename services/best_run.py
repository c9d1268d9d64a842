"""Best run of an experiment by a metric summary (SQL over metric_series) and model-promotion hooks."""
from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from sqlalchemy import delete, literal, select, update

from db.models import Experiment, MetricSeries, Run, RunTag, new_id, now_ms
from services import artifacts, audit, runs, validation
from services.access import require_experiment, require_run
from services.context import Actor, Core
from services.errors import Forbidden, Invalid, NotFound

log = logging.getLogger(__name__)

SUMMARIES = {"last": MetricSeries.last_value, "min": MetricSeries.min_value, "max": MetricSeries.max_value}
MODES = {"max": "max", "maximize": "max", "min": "min", "minimize": "min"}
MAX_HOOKS = 20
_CRITERION = re.compile(r"^\s*(?:(last|min|max)\s+)?(>=|<=|==|!=|>|<)\s*([-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s*$")
PENDING = "pending"  # promotion/<hook id> claimed by the server, not sent yet: a caller may take it over
SENDING = "sending"  # the server is posting to the registry now
HANDOVER_SECONDS = 2.0  # how long a claimed hook waits for the finishing client to take it over
REGISTRY_PATH = "/api/v1/models"
REGISTRY_TIMEOUT = 5.0
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


# ---------------------------------------------------------------- best run

def best_run(core: Core, actor: Actor, experiment_id: str, metric: str, mode: str = "max", summary: str = "last",
             status: str | None = None) -> dict:
    """The run whose per-run summary (last, min or max) of `metric` is best; ties go to the earlier run."""
    validation.key(metric, "metric")
    if mode not in MODES:
        raise Invalid("mode must be max or min", "mode")
    if summary not in SUMMARIES:
        raise Invalid("summary must be last, min or max", "summary")
    column = SUMMARIES[summary]
    with core.sessions() as session:
        require_experiment(session, actor, experiment_id)
        stmt = (select(Run.id, column).join(MetricSeries, MetricSeries.run_pk == Run.pk)
                .where(Run.experiment_id == experiment_id, Run.deleted_at.is_(None), MetricSeries.key == metric,
                       MetricSeries.count > 0, column.is_not(None)))
        if session.get_bind().dialect.name == "postgresql":  # NaN from the MLflow path sorts above every number
            stmt = stmt.where(column != literal(math.nan))
        if status:
            stmt = stmt.where(Run.status == status)
        order = column.desc() if MODES[mode] == "max" else column.asc()
        row = session.execute(stmt.order_by(order, Run.start_time, Run.pk).limit(1)).first()
    if row is None:
        raise NotFound(f"no run of experiment {experiment_id} has a value for metric {metric!r}", "metric")
    run_id, value = row
    result = runs.get_run(core, actor, run_id)
    result["artifacts"] = artifacts.list_artifacts(core, actor, run_id, limit=1000).items
    result["best"] = {"metric": metric, "mode": MODES[mode], "summary": summary, "value": value}
    return result


# ---------------------------------------------------------------- promotion hooks

def parse_criterion(text: str, field: str) -> tuple[str, str, float]:
    """'>= 0.95' (the seed's form) or 'max >= 0.95' → (summary, operator, threshold)."""
    match = _CRITERION.match(text) if isinstance(text, str) else None
    if match is None:
        raise Invalid(f"{field}: {str(text)[:40]!r} is not a criterion such as '>= 0.95' or 'max > 0.9'", field)
    try:
        threshold = float(match.group(3))
    except ValueError:
        raise Invalid(f"{field}: {match.group(3)!r} is not a number", field) from None
    if not math.isfinite(threshold):
        raise Invalid(f"{field}: the threshold must be a finite number", field)
    return match.group(1) or "last", match.group(2), threshold


def evaluate(criteria: dict[str, str], summaries: dict[str, dict]) -> tuple[bool, dict[str, dict]]:
    """Pure: check each metric's criterion against a run's summaries; a missing metric fails its criterion."""
    results: dict[str, dict] = {}
    for key, text in criteria.items():
        summary, op, threshold = parse_criterion(text, f"criteria.{key}")
        value = (summaries.get(key) or {}).get(summary)
        met = isinstance(value, (int, float)) and math.isfinite(value) and _OPS[op](value, threshold)
        results[key] = {"criterion": text, "summary": summary, "value": value, "met": bool(met)}
    return all(r["met"] for r in results.values()), results


def _check_url(url: str) -> str:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise Invalid("registry_url must be an http(s) URL", "registry_url")
    return url


def _hooks(settings: dict | None) -> list[dict]:
    return list((settings or {}).get("promotion_hooks") or [])


def add_promotion_hook(core: Core, actor: Actor, experiment_id: str, criteria: dict[str, str], registry_url: str,
                       name: str | None = None) -> dict:
    """Store a hook on the experiment: when a run finishes and meets every criterion, register it at the URL."""
    if not criteria:
        raise Invalid("criteria must name at least one metric, e.g. {\"accuracy\": \">= 0.95\"}", "criteria")
    for key, text in criteria.items():
        validation.key(key, f"criteria.{key}")
        parse_criterion(text, f"criteria.{key}")
    hook = {"id": new_id(), "name": validation.name(name, "name") if name else None, "criteria": dict(criteria),
            "registry_url": _check_url(registry_url), "created_by": actor.user_id,
            "created_at": validation.iso(now_ms())}
    with core.sessions.begin() as session:
        exp = require_experiment(session, actor, experiment_id, "editor")
        hooks = _hooks(exp.settings)
        if len(hooks) >= MAX_HOOKS:
            raise Invalid(f"an experiment holds at most {MAX_HOOKS} promotion hooks", "criteria")
        exp.settings = {**(exp.settings or {}), "promotion_hooks": [*hooks, hook]}
        audit.record(session, actor, "experiment.promotion_hook.add", "experiment", experiment_id, after=hook)
    core.bus.bump([f"exp:{experiment_id}"], {"type": "experiment.updated", "experiment_id": experiment_id})
    return {"experiment_id": experiment_id, **hook}


def list_promotion_hooks(core: Core, actor: Actor, experiment_id: str) -> list[dict]:
    with core.sessions() as session:
        exp = require_experiment(session, actor, experiment_id)
        return [{"experiment_id": experiment_id, **h} for h in _hooks(exp.settings)]


def delete_promotion_hook(core: Core, actor: Actor, experiment_id: str, hook_id: str) -> None:
    with core.sessions.begin() as session:
        exp = require_experiment(session, actor, experiment_id, "editor")
        hooks = _hooks(exp.settings)
        kept = [h for h in hooks if h.get("id") != hook_id]
        if len(kept) == len(hooks):
            raise NotFound(f"promotion hook {hook_id} not found", "hook_id")
        exp.settings = {**(exp.settings or {}), "promotion_hooks": kept}
        audit.record(session, actor, "experiment.promotion_hook.delete", "experiment", experiment_id,
                     before={"hook_id": hook_id})


def promotion_check(core: Core, actor: Actor, run_id: str) -> dict:
    """Each hook of the run's experiment with whether this run meets it, its state (the run's tag
    promotion/<hook id>, set by whoever fired it), and the registration payload. A registration the server
    is sending right now is waited for (bounded); an editor asking before it was sent takes it over (the
    Python client registers with its own registry headers), so no hook is ever sent twice for one finish."""
    _take_over(core, actor, run_id)
    run = runs.get_run(core, actor, run_id)
    deadline = time.monotonic() + REGISTRY_TIMEOUT + 2
    while SENDING in (run.get("tags") or {}).values() and time.monotonic() < deadline:
        time.sleep(0.05)
        run = runs.get_run(core, actor, run_id)
    hooks = list_promotion_hooks(core, actor, run["experiment_id"])
    summaries = run.get("metrics") or {}
    tags = run.get("tags") or {}
    checked = []
    for hook in hooks:
        met, results = evaluate(hook["criteria"], summaries)
        checked.append({**hook, "met": met, "results": results, "state": tags.get(f"promotion/{hook['id']}")})
    return {"run_id": run_id, "experiment_id": run["experiment_id"], "status": run["status"], "hooks": checked,
            "payload": _payload(core, actor, run)}


def _payload(core: Core, actor: Actor, run: dict) -> dict:
    """What a registry receives about a run (before the hook's own fields are added)."""
    return {"name": f"{run['name']}", "run_id": run["id"], "experiment_id": run["experiment_id"],
            "metrics": {k: s.get("last") for k, s in (run.get("metrics") or {}).items()},
            "parameters": run.get("parameters") or {}, "git_commit": run.get("git_commit"),
            "artifacts": artifacts.list_artifacts(core, actor, run["id"], limit=1000).items}


def registry_endpoint(registry_url: str) -> str:
    """A bare registry address gets /api/v1/models (as the Python client does); a URL with a path is used as is."""
    if urlsplit(registry_url).path in ("", "/"):
        return registry_url.rstrip("/") + REGISTRY_PATH
    return registry_url


def fire_promotion_hooks(core: Core, actor: Actor, run_id: str) -> list[str]:
    """Server side, after a run turned FINISHED: claim each hook the run meets and has not registered
    (promotion/<hook id> = pending) and register the run at the hooks' registries in a background thread.
    Never raises and never waits for a registry: the request that finished the run must not fail or block."""
    try:
        claimed = _claim_hooks(core, actor, run_id)
    except Exception:  # noqa: BLE001 - a hook problem must not fail the status change
        log.exception("promotion hooks of run %s not evaluated", run_id)
        return []
    if claimed:
        threading.Thread(target=_register_all, args=(core, actor, run_id, claimed), daemon=True,
                         name=f"promotion-{run_id[:8]}").start()
    return [hook["id"] for hook, _results in claimed]


def _claim_hooks(core: Core, actor: Actor, run_id: str) -> list[tuple[dict, dict]]:
    from services.metrics import summary_dict

    claimed: list[tuple[dict, dict]] = []
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, lock=True)
        hooks = _hooks((session.get(Experiment, run.experiment_id) or Experiment()).settings)
        if run.status != "FINISHED" or not hooks:
            return []
        summaries = {s.key: summary_dict(s) for s in session.execute(
            select(MetricSeries).where(MetricSeries.run_pk == run.pk)).scalars()}
        for hook in hooks:
            met, results = evaluate(hook["criteria"], summaries)
            tag = session.get(RunTag, (run.pk, f"promotion/{hook['id']}"))
            if met and (tag is None or tag.value not in ("registered", PENDING, SENDING)):
                runs.set_tags(session, run, {f"promotion/{hook['id']}": PENDING})
                claimed.append((hook, results))
    return claimed


def _take_over(core: Core, actor: Actor, run_id: str) -> None:
    """Drop the server's unsent claims on this run (editors only), leaving their registration to the caller."""
    with core.sessions.begin() as session:
        try:
            run = require_run(session, actor, run_id, "editor")
        except (Forbidden, NotFound):
            return  # a viewer only looks; get_run answers the 404
        session.execute(delete(RunTag).where(RunTag.run_pk == run.pk, RunTag.key.like("promotion/%"),
                                             RunTag.value == PENDING))


def _start_sending(core: Core, actor: Actor, run_id: str, hook_id: str) -> bool:
    """pending → sending, atomically: False when a caller took the hook over meanwhile."""
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id)
        return session.execute(update(RunTag).where(
            RunTag.run_pk == run.pk, RunTag.key == f"promotion/{hook_id}", RunTag.value == PENDING
        ).values(value=SENDING)).rowcount == 1


def _register_all(core: Core, actor: Actor, run_id: str, claimed: list[tuple[dict, dict]]) -> None:
    time.sleep(HANDOVER_SECONDS)
    try:
        claimed = [(hook, results) for hook, results in claimed if _start_sending(core, actor, run_id, hook["id"])]
    except Exception:  # noqa: BLE001
        log.exception("promotion hooks of run %s not sent", run_id)
        return
    if not claimed:
        return
    payload: dict = {}
    try:
        payload = _payload(core, actor, runs.get_run(core, actor, run_id))
    except Exception:  # noqa: BLE001 - still settle every claimed hook below
        log.exception("promotion payload of run %s not built", run_id)
    for hook, results in claimed:
        state = _post(hook, {**payload, "name": hook.get("name") or f"experiment-{payload.get('experiment_id')}",
                             "hook_id": hook["id"], "criteria": hook["criteria"], "results": results}
                      ) if payload else "failed: payload"
        try:
            with core.sessions.begin() as session:
                run = require_run(session, actor, run_id)
                runs.set_tags(session, run, {f"promotion/{hook['id']}": state})
                audit.record(session, actor, "run.promotion", "run", run_id,
                             after={"hook_id": hook["id"], "registry_url": hook["registry_url"], "state": state})
                experiment_id = run.experiment_id
            core.bus.bump([f"run:{run_id}", f"exp:{experiment_id}"], {"type": "run.updated", "run_id": run_id})
        except Exception:  # noqa: BLE001 - a background thread has nobody to report to but the log
            log.exception("promotion outcome of run %s not recorded", run_id)


def _post(hook: dict, payload: dict) -> str:
    """POST the registration; 'registered' or 'failed: <why>' (the run's tag value)."""
    url = registry_endpoint(hook["registry_url"])
    request = urllib.request.Request(url, data=json.dumps(payload, default=str).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REGISTRY_TIMEOUT) as response:  # noqa: S310 - http(s) only
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        log.warning("model registry %s unreachable: %s", url, exc)
        return f"failed: {type(exc).__name__}"
    if status >= 300:
        log.warning("model registry %s answered %s", url, status)
        return f"failed: HTTP {status}"
    return "registered"
