"""The MLflow mapping: experiment names ↔ projects, experiment "0", lookups that include deleted rows, wire dicts."""
from __future__ import annotations

import math
from typing import Any, Iterable

from sqlalchemy import BigInteger, Float, String, cast, literal, null, select, union_all
from sqlalchemy.orm import Session, aliased

from db.models import Experiment, MetricSeries, Param, Project, Run, RunTag, Team, User
from services import projects as project_service
from services.access import RANK, project_role, visible_projects
from services.context import Actor, Core
from services.errors import Conflict, Forbidden, NotFound, ServiceError

DEFAULT_ID = "0"
DEFAULT_NAME = "Default"  # the project a bare experiment name lands in, and experiment "0"'s name
RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"
TAGS_SETTING = "mlflow_tags"  # experiment key/value tags live in Experiment.settings[TAGS_SETTING]
CHUNK = 500
RUN_COLUMNS = (Run.pk, Run.id, Run.name, Run.experiment_id, Run.status, Run.start_time, Run.end_time,
               Run.deleted_at, Run.user_id, Run.parent_pk)  # what wire_runs reads: rows of these work as runs


class AlreadyExists(ServiceError):
    status = 400
    code = "RESOURCE_ALREADY_EXISTS"


def split_name(name: str) -> tuple[str, str]:
    """"project/experiment" → (project, experiment); a bare name → ("Default", name)."""
    head, sep, tail = name.strip().partition("/")
    if sep and head.strip() and tail.strip():
        return head.strip(), tail.strip()
    return DEFAULT_NAME, name.strip()


def display_name(project_name: str, experiment_name: str) -> str:
    return experiment_name if project_name == DEFAULT_NAME else f"{project_name}/{experiment_name}"


def artifact_root(experiment_id: str, run_id: str) -> str:
    return f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"


def candidate_projects(session: Session, actor: Actor, project_name: str) -> list[Project]:
    """Visible projects with this name: the caller's writable teams first (by team name), then the rest."""
    rows = session.execute(visible_projects(actor).add_columns(Team.name).join(Team, Team.id == Project.team_id)
                           .where(Project.name == project_name)).all()

    def rank(row: Any) -> tuple:
        role = actor.team_roles.get(row[0].team_id)
        return (0 if role and RANK[role] >= RANK["editor"] else 1 if role else 2, row[1], row[0].id)

    return [row[0] for row in sorted(rows, key=rank)]


def find_experiment(session: Session, actor: Actor, name: str) -> tuple[Experiment, Project] | None:
    """The experiment an MLflow name means for this caller (deleted ones included, as MLflow does)."""
    project_name, experiment_name = split_name(name)
    projects = candidate_projects(session, actor, project_name)
    if not projects:
        return None
    found = {e.project_id: e for e in session.execute(select(Experiment).where(
        Experiment.project_id.in_([p.id for p in projects]), Experiment.name == experiment_name)).scalars()}
    for project in projects:
        if project.id in found:
            return found[project.id], project
    return None


def _writable_team_name(session: Session, actor: Actor) -> str:
    """The caller's first team (by name) where they may write; a site admin without one gets team "Default"."""
    editable = [t for t, r in actor.team_roles.items() if RANK[r] >= RANK["editor"]]
    if editable:
        return session.execute(select(Team.name).where(Team.id.in_(editable)).order_by(Team.name)).scalars().first()
    if actor.is_admin:
        return DEFAULT_NAME  # create_project makes the team when a site admin names an unknown one
    raise Forbidden("you need the editor role in a team to create MLflow experiments")


def ensure_project(core: Core, actor: Actor, project_name: str) -> Project:
    """The caller's writable project of this name, created in the caller's team when missing."""
    for _attempt in range(2):
        with core.sessions() as session:
            for project in candidate_projects(session, actor, project_name):
                role = project_role(session, actor, project)
                if role and RANK[role] >= RANK["editor"]:
                    return project
            team_name = _writable_team_name(session, actor)
        try:
            created = project_service.create_project(core, actor, project_name, team=team_name)
        except Conflict:
            continue  # a concurrent request created it: look again
        with core.sessions() as session:
            return session.get(Project, created["id"])
    raise Forbidden(f"project {project_name!r} exists but you cannot write to it")


def default_experiment_id(core: Core, actor: Actor, create: bool) -> str | None:
    """Experiment "0": the "Default" experiment in the caller's "Default" project (made on demand)."""
    with core.sessions() as session:
        found = find_experiment(session, actor, DEFAULT_NAME)
        if found is not None:
            return found[0].id
    if not create:
        return None
    from services import experiments as experiment_service

    project = ensure_project(core, actor, DEFAULT_NAME)
    try:
        return experiment_service.create_experiment(core, actor, project.id, DEFAULT_NAME)["id"]
    except Conflict:
        with core.sessions() as session:
            found = find_experiment(session, actor, DEFAULT_NAME)
            return found[0].id if found else None


def resolve_experiment_id(core: Core, actor: Actor, experiment_id: str, create: bool = False) -> str:
    if experiment_id != DEFAULT_ID:
        return experiment_id
    resolved = default_experiment_id(core, actor, create)
    if resolved is None:
        raise NotFound(f"No Experiment with id={experiment_id} exists", "experiment_id")
    return resolved


def load_experiment(session: Session, actor: Actor, experiment_id: str, need: str = "viewer"
                    ) -> tuple[Experiment, Project]:
    """An experiment the caller may see (deleted included); 404 hides others' experiments."""
    row = session.execute(select(Experiment, Project).join(Project, Project.id == Experiment.project_id)
                          .where(Experiment.id == experiment_id)).first()
    role = project_role(session, actor, row[1]) if row is not None else None
    if role is None:
        raise NotFound(f"No Experiment with id={experiment_id} exists", "experiment_id")
    if RANK[role] < RANK[need]:
        raise Forbidden(f"you need the {need} role on project {row[1].name!r}")
    return row[0], row[1]


def load_run(session: Session, actor: Actor, run_id: str, need: str = "viewer") -> Run:
    """A run the caller may see, deleted or not (MLflow's get-run returns deleted runs)."""
    row = session.execute(select(Run, Project).join(Experiment, Experiment.id == Run.experiment_id)
                          .join(Project, Project.id == Experiment.project_id).where(Run.id == run_id)).first()
    role = project_role(session, actor, row[1]) if row is not None else None
    if role is None:
        raise NotFound(f"Run with id={run_id} not found", "run_id")
    if RANK[role] < RANK[need]:
        raise Forbidden(f"you need the {need} role on project {row[1].name!r}")
    return row[0]


def wire_float(value: float | None) -> float | str:
    """Protobuf JSON for doubles: NaN and infinities are strings; SQLite keeps NaN as NULL."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def experiment_wire(exp: Experiment, project: Project, experiment_id: str | None = None) -> dict:
    tags = dict((exp.settings or {}).get(TAGS_SETTING) or {})
    if exp.description and "mlflow.note.content" not in tags:
        tags["mlflow.note.content"] = exp.description
    data: dict[str, Any] = {
        "experiment_id": experiment_id or exp.id, "name": display_name(project.name, exp.name),
        "artifact_location": f"mlflow-artifacts:/{exp.id}",
        "lifecycle_stage": "deleted" if exp.deleted_at is not None else "active",
        "last_update_time": exp.updated_at, "creation_time": exp.created_at}
    if tags:
        data["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
    return data


def run_info(run: Any, username: str | None, parent_id: str | None = None) -> dict:
    info: dict[str, Any] = {"run_id": run.id, "run_uuid": run.id, "run_name": run.name,
                            "experiment_id": run.experiment_id, "status": run.status,
                            "start_time": run.start_time, "artifact_uri": artifact_root(run.experiment_id, run.id),
                            "lifecycle_stage": "deleted" if run.deleted_at is not None else "active"}
    if username:
        info["user_id"] = username
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _run_data(session: Session, pks: list[int]) -> Iterable[tuple]:
    """(kind, run_pk, key, text, metric value, ts, step) for params "p", tags "t", latest metrics "m", the
    owner's username "u" (in text) and the parent's id "r" (in text): one UNION ALL round trip per chunk."""
    none_text, none_float, none_int = cast(null(), String), cast(null(), Float), cast(null(), BigInteger)
    s, parent = MetricSeries, aliased(Run)
    for chunk in _chunks(pks):
        yield from session.execute(union_all(
            select(literal("p"), Param.run_pk, Param.key, Param.value, none_float, none_int, none_int)
            .where(Param.run_pk.in_(chunk)),
            select(literal("t"), RunTag.run_pk, RunTag.key, RunTag.value, none_float, none_int, none_int)
            .where(RunTag.run_pk.in_(chunk)),
            select(literal("m"), s.run_pk, s.key, none_text, s.last_value, s.last_ts, s.last_step)
            .where(s.run_pk.in_(chunk), s.count > 0),
            select(literal("u"), Run.pk, none_text, User.username, none_float, none_int, none_int)
            .join(User, User.id == Run.user_id).where(Run.pk.in_(chunk)),
            select(literal("r"), Run.pk, none_text, parent.id, none_float, none_int, none_int)
            .join(parent, parent.pk == Run.parent_pk).where(Run.pk.in_(chunk))))


def wire_runs(session: Session, runs: list[Any]) -> list[dict]:
    """MLflow Run dicts (info + data with latest metrics, params, tags) in one bulk query per 500 runs;
    `runs` are Run entities or rows of RUN_COLUMNS."""
    pks = [r.pk for r in runs]
    params: dict[int, list] = {pk: [] for pk in pks}
    tags: dict[int, dict] = {pk: {} for pk in pks}
    metrics: dict[int, list] = {pk: [] for pk in pks}
    users: dict[int, str] = {}
    parents: dict[int, str] = {}
    for kind, pk, key, text, value, ts, step in _run_data(session, pks):
        if kind == "p":
            params[pk].append({"key": key, "value": text})
        elif kind == "t":
            tags[pk][key] = text
        elif kind == "m":
            metrics[pk].append({"key": key, "value": wire_float(value), "timestamp": ts, "step": step})
        elif kind == "u":
            users[pk] = text
        else:
            parents[pk] = text
    out = []
    for run in runs:
        run_tags = tags[run.pk]
        run_tags.setdefault(RUN_NAME_TAG, run.name)
        if run.pk in parents:
            run_tags.setdefault(PARENT_TAG, parents[run.pk])
        if run.pk in users:
            run_tags.setdefault(USER_TAG, users[run.pk])
        data: dict[str, Any] = {}
        if metrics[run.pk]:
            data["metrics"] = sorted(metrics[run.pk], key=_by_key)
        if params[run.pk]:
            data["params"] = sorted(params[run.pk], key=_by_key)
        data["tags"] = [{"key": k, "value": v} for k, v in sorted(run_tags.items())]
        out.append({"info": run_info(run, users.get(run.pk)), "data": data, "inputs": {}})
    return out


def _by_key(item: dict) -> str:
    return item["key"]
