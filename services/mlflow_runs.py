"""MLflow runs on ours: create, get, update, delete/restore, params, tags and log-batch (limits as MLflow's)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import RunTag
from services import audit, validation
from services import runs as run_service
from services.access import require_run
from services.context import Actor, Core
from services.errors import Invalid, NotFound
from services.metrics import Point
from services.mlflow_metrics import log_points
from services.mlflow_store import PARENT_TAG, RUN_NAME_TAG, load_run, resolve_experiment_id, wire_runs

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_TAG_VALUE = 8000
GIT_COMMIT_TAG = "mlflow.source.git.commit"  # the client sets it when the script is in a git checkout


def check_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        validation.key(key, "tags.key")
        if not isinstance(value, str):
            raise Invalid(f"tag {key!r}: value must be a string", "tags.value")
        if len(value) > MAX_TAG_VALUE:
            raise Invalid(f"tag {key!r}: value is longer than {MAX_TAG_VALUE} characters", "tags.value")


def check_params(params: dict[str, Any]) -> None:
    for key, value in params.items():
        validation.key(key, "params.key")
        if not isinstance(value, str):
            raise Invalid(f"param {key!r}: value must be a string", "params.value")
        validation.param_value(value, f"params.{key}")


def create(core: Core, actor: Actor, experiment_id: str, start_time: int | None, tags: dict[str, str],
           run_name: str | None) -> dict:
    check_tags(tags)
    tags = dict(tags)
    tag_name = tags.pop(RUN_NAME_TAG, None)
    if run_name and tag_name and run_name != tag_name:
        raise Invalid(f"run_name {run_name!r} and tag {RUN_NAME_TAG} {tag_name!r} differ", "run_name")
    real_id = resolve_experiment_id(core, actor, experiment_id, create=True)
    parent_id = _same_experiment_parent(core, actor, tags.get(PARENT_TAG), real_id)
    if parent_id:
        tags.pop(PARENT_TAG)
    created = run_service.create_run(core, actor, real_id, name=run_name or tag_name or None, tags=tags,
                                     start_time=start_time, parent_run_id=parent_id,
                                     git_commit=run_service.usable_commit(tags.get(GIT_COMMIT_TAG)))
    return get(core, actor, created["id"])


def _same_experiment_parent(core: Core, actor: Actor, parent_id: str | None, experiment_id: str) -> str | None:
    """A parent in the same experiment becomes our structural parent; any other stays a plain tag."""
    if not parent_id:
        return None
    with core.sessions() as session:
        try:
            parent = require_run(session, actor, parent_id)
        except NotFound:
            return None
        return parent_id if parent.experiment_id == experiment_id else None


def get(core: Core, actor: Actor, run_id: str) -> dict:
    with core.sessions() as session:
        return wire_runs(session, [load_run(session, actor, run_id)])[0]


def update(core: Core, actor: Actor, run_id: str, status: str | None, end_time: int | None,
           run_name: str | None) -> dict:
    changes: dict[str, Any] = {"status": status, "end_time": end_time}
    if run_name:
        changes["name"] = run_name
    run_service.update_run(core, actor, run_id, **changes)
    return get(core, actor, run_id)["info"]


def delete(core: Core, actor: Actor, run_id: str) -> None:
    run_service.delete_run(core, actor, run_id)


def restore(core: Core, actor: Actor, run_id: str) -> None:
    with core.sessions.begin() as session:
        run = load_run(session, actor, run_id, "editor")
        if run.deleted_at is None:
            raise Invalid(f"run {run_id} is not deleted", "run_id")
        run.deleted_at = None
        audit.record(session, actor, "run.restore", "run", run.id)
        experiment_id = run.experiment_id
    core.bus.bump([f"exp:{experiment_id}", f"run:{run_id}"], {"type": "run.restored", "run_id": run_id})


def write(core: Core, actor: Actor, run_id: str, params: dict[str, str] | None = None,
          tags: dict[str, str | None] | None = None) -> None:
    """Params and tags in one transaction; mlflow.runName renames the run. Changing a param is refused."""
    params, tags = dict(params or {}), dict(tags or {})
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, "editor", lock=True)
        run_service.ensure_writable(run)
        if RUN_NAME_TAG in tags:
            name = tags.pop(RUN_NAME_TAG)
            if name:
                run.name = validation.name(name, "run_name", 250)
        if params:
            run_service.set_params(session, run, params)
        if tags:
            run_service.set_tags(session, run, tags)
        audit.record(session, actor, "run.update", "run", run.id, after={"parameters": params, "tags": tags})
        experiment_id = run.experiment_id
    core.bus.bump([f"exp:{experiment_id}", f"run:{run_id}"], {"type": "run.updated", "run_id": run_id})


def delete_tag(core: Core, actor: Actor, run_id: str, key: str) -> None:
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        present = session.execute(select(RunTag.key).where(RunTag.run_pk == run.pk, RunTag.key == key)).first()
    if not present:
        raise NotFound(f"No tag with name: {key} in run with id {run_id}", "key")
    write(core, actor, run_id, tags={key: None})


def log_batch(core: Core, actor: Actor, run_id: str, points: list[Point], params: list[tuple[str, str]],
              tags: list[tuple[str, str]]) -> None:
    """Everything is checked before anything is written; params and tags first, then the metrics."""
    if len(points) > MAX_METRICS_PER_BATCH:
        raise Invalid(f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. "
                      f"Got {len(points)} metrics.", "metrics")
    for kind, items in (("params", params), ("tags", tags)):
        if len(items) > MAX_PARAMS_TAGS_PER_BATCH:
            raise Invalid(f"A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} {kind}. "
                          f"Got {len(items)} {kind}.", kind)
    if len(points) + len(params) + len(tags) > MAX_ENTITIES_PER_BATCH:
        raise Invalid(f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} metrics, params "
                      "and tags in total.", "metrics")
    param_map: dict[str, str] = {}
    for key, value in params:
        if key in param_map and param_map[key] != value:
            raise Invalid(f"Duplicate parameter keys have been submitted: {key!r} with different values",
                          "params")
        param_map[key] = value
    tag_map = dict(tags)
    check_params(param_map)
    check_tags(tag_map)
    if param_map or tag_map:
        write(core, actor, run_id, param_map, tag_map)
    if points:
        log_points(core, actor, run_id, points)


def log_inputs(core: Core, actor: Actor, run_id: str) -> None:
    """Datasets and model inputs are accepted and not kept (yet); the run must exist and be writable."""
    with core.sessions() as session:
        run_service.ensure_writable(require_run(session, actor, run_id, "editor"))
