"""MLflow experiments on ours: create (into "project/" or the Default project), get, by name, rename, delete,
restore, key/value tags."""
from __future__ import annotations

from db.models import now_ms
from services import audit, validation
from services import experiments as experiment_service
from services.context import Actor, Core
from services.errors import Conflict, Invalid, NotFound
from services.mlflow_store import (DEFAULT_ID, DEFAULT_NAME, TAGS_SETTING, AlreadyExists, display_name, ensure_project,
                                   experiment_wire, find_experiment, load_experiment, resolve_experiment_id,
                                   split_name)

MAX_TAG_VALUE = 8000
NOTE_TAG = "mlflow.note.content"


def _check_tag(key: str, value: str | None) -> None:
    validation.key(key, "key")
    if value is not None and len(value) > MAX_TAG_VALUE:
        raise Invalid(f"tag {key!r}: value is longer than {MAX_TAG_VALUE} characters", "value")


def create(core: Core, actor: Actor, name: str, tags: dict[str, str] | None = None) -> str:
    """The new experiment's id; RESOURCE_ALREADY_EXISTS when the caller already sees that name."""
    if not name or not name.strip():
        raise Invalid("experiment name must not be empty", "name")
    for key, value in (tags or {}).items():
        _check_tag(key, value)
    with core.sessions() as session:
        if find_experiment(session, actor, name) is not None:
            raise AlreadyExists(f"Experiment '{name}' already exists.", "name")
    project_name, experiment_name = split_name(name)
    project = ensure_project(core, actor, project_name)
    tags = dict(tags or {})
    try:
        created = experiment_service.create_experiment(core, actor, project.id, experiment_name,
                                                       description=tags.pop(NOTE_TAG, ""))
    except Conflict:
        raise AlreadyExists(f"Experiment '{name}' already exists.", "name") from None
    if tags:
        _write_tags(core, actor, created["id"], tags)
    return created["id"]


def get(core: Core, actor: Actor, experiment_id: str) -> dict:
    real_id = resolve_experiment_id(core, actor, experiment_id, create=True)
    with core.sessions() as session:
        exp, project = load_experiment(session, actor, real_id)
        return experiment_wire(exp, project, DEFAULT_ID if experiment_id == DEFAULT_ID else None)


def get_by_name(core: Core, actor: Actor, name: str) -> dict:
    with core.sessions() as session:
        found = find_experiment(session, actor, name)
        if found is not None:
            return experiment_wire(*found)
    if split_name(name) == (DEFAULT_NAME, DEFAULT_NAME):  # MLflow's "Default" always exists
        return get(core, actor, resolve_experiment_id(core, actor, DEFAULT_ID, create=True))
    raise NotFound(f"Could not find experiment with name '{name}'", "experiment_name")


def rename(core: Core, actor: Actor, experiment_id: str, new_name: str) -> None:
    real_id = resolve_experiment_id(core, actor, experiment_id)
    with core.sessions() as session:
        exp, project = load_experiment(session, actor, real_id, "editor")
        target_project, target_name = split_name(new_name or "")
        if target_project != project.name:
            raise Invalid(f"an experiment cannot move to another project ({project.name!r} → {target_project!r})",
                          "new_name")
        if display_name(project.name, exp.name) == new_name:
            return
        if find_experiment(session, actor, new_name) is not None:
            raise AlreadyExists(f"Experiment '{new_name}' already exists.", "new_name")
        if exp.deleted_at is not None:
            raise Invalid("Cannot rename a non-active experiment.", "experiment_id")
    try:
        experiment_service.update_experiment(core, actor, real_id, name=target_name)
    except Conflict:
        raise AlreadyExists(f"Experiment '{new_name}' already exists.", "new_name") from None


def set_lifecycle(core: Core, actor: Actor, experiment_id: str, deleted: bool) -> None:
    """Delete (soft) or restore; MLflow refuses to delete an already deleted one and vice versa."""
    real_id = resolve_experiment_id(core, actor, experiment_id)
    with core.sessions.begin() as session:
        exp, _project = load_experiment(session, actor, real_id, "editor")
        if (exp.deleted_at is not None) == deleted:
            state = "deleted" if deleted else "active"
            raise Invalid(f"Cannot {'delete' if deleted else 'restore'} experiment {experiment_id}: it is already "
                          f"{state}", "experiment_id")
        exp.deleted_at = now_ms() if deleted else None
        action = "experiment.delete" if deleted else "experiment.restore"
        audit.record(session, actor, action, "experiment", exp.id)
        project_id = exp.project_id
    core.bus.bump([f"exp:{real_id}", f"project:{project_id}"],
                  {"type": "experiment.deleted" if deleted else "experiment.restored", "experiment_id": real_id})


def set_tag(core: Core, actor: Actor, experiment_id: str, key: str, value: str) -> None:
    _check_tag(key, value)
    _write_tags(core, actor, resolve_experiment_id(core, actor, experiment_id), {key: value})


def delete_tag(core: Core, actor: Actor, experiment_id: str, key: str) -> None:
    real_id = resolve_experiment_id(core, actor, experiment_id)
    with core.sessions() as session:
        exp, _project = load_experiment(session, actor, real_id)
        present = key in ((exp.settings or {}).get(TAGS_SETTING) or {}) or (key == NOTE_TAG and exp.description)
    if not present:
        raise NotFound(f"No tag with name: {key} in experiment {experiment_id}", "key")
    _write_tags(core, actor, real_id, {key: None})


def _write_tags(core: Core, actor: Actor, experiment_id: str, tags: dict[str, str | None]) -> None:
    """Key/value tags in the experiment's settings; the note tag is the experiment's description."""
    with core.sessions.begin() as session:
        exp, _project = load_experiment(session, actor, experiment_id, "editor")
        if exp.deleted_at is not None:
            raise Invalid(f"experiment {experiment_id} is deleted; restore it first", "experiment_id")
        current = dict((exp.settings or {}).get(TAGS_SETTING) or {})
        for key, value in tags.items():
            if key == NOTE_TAG:
                exp.description = value or ""
            elif value is None:
                current.pop(key, None)
            else:
                current[key] = value
        exp.settings = {**(exp.settings or {}), TAGS_SETTING: current}
        exp.updated_at = now_ms()
        audit.record(session, actor, "experiment.tags", "experiment", exp.id, after={"tags": tags})
    core.bus.bump([f"exp:{experiment_id}"], {"type": "experiment.updated", "experiment_id": experiment_id})
