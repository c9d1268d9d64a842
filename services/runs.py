"""Runs: create (with params, environment, parent), get, list, update status/notes/tags/lock, delete."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import RUN_STATUSES, TERMINAL_STATUSES, MetricSeries, Param, Run, RunTag, User, now_ms
from services import audit, validation
from services.access import require_experiment, require_run
from services.context import Actor, Core
from services.errors import Conflict, Invalid, NotFound, RunLocked
from services.paging import Page, check_limit, offset_from, offset_page


def ensure_writable(run: Run) -> None:
    if run.locked:
        raise RunLocked(f"run {run.id} is finished and locked; unlock it before writing to it", "run_id")


def run_dict(run: Run, params: dict | None = None, tags: dict | None = None, metrics: dict | None = None) -> dict:
    data = {"id": run.id, "experiment_id": run.experiment_id, "parent_run_id": run.parent_id, "name": run.name,
            "status": run.status, "user_id": run.user_id, "start_time": validation.iso(run.start_time),
            "end_time": validation.iso(run.end_time),
            "duration_ms": (run.end_time - run.start_time) if run.end_time else None,
            "environment": run.environment or {}, "git_commit": run.git_commit, "notes": run.notes,
            "locked": run.locked}
    if params is not None:
        data["parameters"] = params
    if tags is not None:
        data["tags"] = tags
    if metrics is not None:
        data["metrics"] = metrics
    return data


def set_params(session: Session, run: Run, parameters: dict[str, Any]) -> None:
    """Add params; re-logging a key with the same value is fine, a different value is a conflict."""
    existing = {p.key: p for p in session.execute(select(Param).where(
        Param.run_pk == run.pk, Param.key.in_(list(parameters)))).scalars()}
    for key, raw in parameters.items():
        validation.key(key, f"parameters.{key}")
        text, number = validation.param_value(raw, f"parameters.{key}")
        if key in existing:
            if existing[key].value != text:
                raise Conflict(f"parameter {key!r} is already {existing[key].value!r}; params cannot change",
                               f"parameters.{key}")
            continue
        session.add(Param(run_pk=run.pk, key=key, value=text, value_num=number))


def set_tags(session: Session, run: Run, tags: dict[str, str] | list[str]) -> None:
    pairs = {t: "" for t in tags} if isinstance(tags, list) else dict(tags)
    for key, value in pairs.items():
        validation.key(key, f"tags.{key}")
        row = session.get(RunTag, (run.pk, key))
        if value is None:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            session.add(RunTag(run_pk=run.pk, key=key, value=str(value)))
        else:
            row.value = str(value)


def create_run(core: Core, actor: Actor, experiment_id: str, name: str | None = None,
               parameters: dict[str, Any] | None = None, environment: dict[str, Any] | None = None,
               parent_run_id: str | None = None, tags: dict | list | None = None, git_commit: str | None = None,
               start_time: Any = None, status: str = "RUNNING") -> dict:
    if status not in RUN_STATUSES:
        raise Invalid(f"status must be one of {', '.join(RUN_STATUSES)}", "status")
    with core.sessions.begin() as session:
        require_experiment(session, actor, experiment_id, "editor")
        parent = _parent(session, actor, parent_run_id, experiment_id)
        run = Run(experiment_id=experiment_id, parent_pk=parent.pk if parent else None, status=status,
                  user_id=actor.user_id, start_time=validation.timestamp_ms(start_time, "start_time", now_ms()),
                  environment=dict(environment or {}), git_commit=git_commit or usable_commit((environment or {}).get("git_commit")))
        run.name = validation.name(name, "name", 250) if name else ""
        if status in TERMINAL_STATUSES:
            run.end_time = max(run.start_time, now_ms())
        session.add(run)
        session.flush()
        if not run.name:
            run.name = f"run-{run.id[:8]}"
        set_params(session, run, parameters or {})
        set_tags(session, run, tags or {})
        session.flush()
        result = run_dict(run, *_details(session, run))
        audit.record(session, actor, "run.create", "run", run.id, after=result)
    core.bus.bump([f"exp:{experiment_id}", f"run:{run.id}"], {"type": "run.created", "run_id": run.id})
    return result


def usable_commit(value: Any) -> str | None:
    """A value that looks like a git commit (a short non-empty string) fills the run's git_commit (environment's
    git_commit, the mlflow client's commit tag); anything else stays where it came from."""
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def _parent(session: Session, actor: Actor, parent_run_id: str | None, experiment_id: str) -> Run | None:
    if not parent_run_id:
        return None
    try:
        parent = require_run(session, actor, parent_run_id)
    except NotFound:
        raise NotFound(f"parent run {parent_run_id} not found", "parent_run_id") from None
    if parent.experiment_id != experiment_id:
        raise Invalid("parent run belongs to another experiment", "parent_run_id")
    return parent


def _details(session: Session, run: Run) -> tuple[dict, dict, dict]:
    params = dict(session.execute(select(Param.key, Param.value).where(Param.run_pk == run.pk)).all())
    tags = dict(session.execute(select(RunTag.key, RunTag.value).where(RunTag.run_pk == run.pk)).all())
    series = session.execute(select(MetricSeries).where(MetricSeries.run_pk == run.pk)).scalars()
    from services.metrics import summary_dict

    return params, tags, {s.key: summary_dict(s) for s in series}


def get_run(core: Core, actor: Actor, run_id: str) -> dict:
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        data = run_dict(run, *_details(session, run))
        data["child_run_ids"] = list(session.execute(select(Run.id).where(
            Run.parent_pk == run.pk, Run.deleted_at.is_(None)).order_by(Run.start_time)).scalars())
        data["user"] = session.execute(select(User.username).where(User.id == run.user_id)).scalar() \
            if run.user_id else None
    return data


def list_runs(core: Core, actor: Actor, experiment_id: str, status: str | None = None,
              parent_run_id: str | None = None, limit: int = 100, cursor: str | None = None) -> Page:
    limit, offset = check_limit(limit), offset_from(cursor)
    with core.sessions() as session:
        require_experiment(session, actor, experiment_id)
        stmt = select(Run).where(Run.experiment_id == experiment_id, Run.deleted_at.is_(None))
        if status:
            stmt = stmt.where(Run.status == status)
        if parent_run_id:
            stmt = stmt.where(Run.parent_pk == select(Run.pk).where(Run.id == parent_run_id).scalar_subquery())
        total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = list(session.execute(stmt.order_by(Run.start_time.desc(), Run.pk.desc())
                                    .offset(offset).limit(limit + 1)).scalars())
        items = [run_dict(r) for r in rows]
    return offset_page(items, offset, limit, total)


def update_run(core: Core, actor: Actor, run_id: str, **changes: Any) -> dict:
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, "editor", lock=True)
        before = run_dict(run)
        if run.locked and changes.get("locked") is not False:
            ensure_writable(run)
        if changes.get("status") is not None:
            _set_status(run, changes["status"], changes.get("end_time"))
        elif changes.get("end_time") is not None:
            run.end_time = validation.timestamp_ms(changes["end_time"], "end_time", now_ms())
            if run.end_time < run.start_time:
                raise Invalid("end_time is before the run's start_time", "end_time")
        if changes.get("name") is not None:
            run.name = validation.name(changes["name"], "name", 250)
        if changes.get("notes") is not None:
            run.notes = changes["notes"]
        if changes.get("tags") is not None:
            set_tags(session, run, changes["tags"])
        if changes.get("parameters"):
            set_params(session, run, changes["parameters"])
        _apply_lock_change(run, changes.get("locked"))
        session.flush()
        audit.record(session, actor, "run.update", "run", run.id, before, run_dict(run))
        experiment_id = run.experiment_id
    core.bus.bump([f"exp:{experiment_id}", f"run:{run_id}"], {"type": "run.updated", "run_id": run_id})
    if changes.get("status") == "FINISHED" and before["status"] != "FINISHED":
        from services.best_run import fire_promotion_hooks  # best_run imports this module

        fire_promotion_hooks(core, actor, run_id)  # background registration; never raises
    return get_run(core, actor, run_id)


def _apply_lock_change(run: Run, locked: bool | None) -> None:
    """Lock or unlock after the other changes, so one request can finish a run and lock it."""
    if locked is None or locked == run.locked:
        return
    if locked and run.status not in TERMINAL_STATUSES:
        raise Invalid("only a finished, failed or killed run can be locked", "locked")
    run.locked = locked


def _set_status(run: Run, status: str, end_time: Any) -> None:
    if status not in RUN_STATUSES:
        raise Invalid(f"status must be one of {', '.join(RUN_STATUSES)}", "status")
    run.status = status
    if status in TERMINAL_STATUSES:
        run.end_time = validation.timestamp_ms(end_time, "end_time", now_ms())
        if run.end_time < run.start_time:
            raise Invalid("end_time is before the run's start_time", "end_time")
    else:
        run.end_time = None


def delete_run(core: Core, actor: Actor, run_id: str) -> None:
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, "editor")
        ensure_writable(run)
        run.deleted_at = now_ms()
        audit.record(session, actor, "run.delete", "run", run.id, before=run_dict(run))
        experiment_id = run.experiment_id
    core.bus.bump([f"exp:{experiment_id}", f"run:{run_id}"], {"type": "run.deleted", "run_id": run_id})
