"""Who may see and change a project: team roles, shares, and the no-existence-leak rule."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.sql import Select

from db.models import Experiment, Project, ProjectShare, Run
from services.context import Actor
from services.errors import Forbidden, NotFound

RANK = {"viewer": 1, "editor": 2, "admin": 3}


def project_role(session: Session, actor: Actor, project: Project) -> str | None:
    """The actor's effective role on a project, or None when it must stay invisible."""
    if actor.is_admin:
        return "admin"
    roles = []
    if project.team_id in actor.team_roles:
        roles.append(actor.team_roles[project.team_id])
    if actor.team_roles:
        shares = session.execute(select(ProjectShare.role).where(
            ProjectShare.project_id == project.id, ProjectShare.team_id.in_(actor.team_ids))).scalars()
        roles.extend(shares)
    return max(roles, key=RANK.__getitem__) if roles else None


def require_project(session: Session, actor: Actor, project_id: str, need: str = "viewer") -> Project:
    project = session.get(Project, project_id) if isinstance(project_id, str) else None
    role = project_role(session, actor, project) if project is not None else None
    if role is None:
        raise NotFound(f"project {project_id} not found", "project_id")
    if RANK[role] < RANK[need]:
        raise Forbidden(f"you need the {need} role on project {project.name!r}")
    return project


def require_experiment(session: Session, actor: Actor, experiment_id: str, need: str = "viewer") -> Experiment:
    experiment = session.get(Experiment, experiment_id) if isinstance(experiment_id, str) else None
    if experiment is None or experiment.deleted_at is not None:
        raise NotFound(f"experiment {experiment_id} not found", "experiment_id")
    try:
        require_project(session, actor, experiment.project_id, need)
    except NotFound:
        raise NotFound(f"experiment {experiment_id} not found", "experiment_id") from None
    return experiment


def require_run(session: Session, actor: Actor, run_id: str, need: str = "viewer", lock: bool = False) -> Run:
    """One query for run, experiment and project; 404 unless the actor may see it, 403 if the role is short."""
    stmt = (select(Run, Project).join(Experiment, Experiment.id == Run.experiment_id)
            .join(Project, Project.id == Experiment.project_id)
            .where(Run.id == run_id, Run.deleted_at.is_(None), Experiment.deleted_at.is_(None))
            .options(lazyload(Project.tag_rows)))  # a caller wanting the project's tags loads them on access
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Run)
    row = session.execute(stmt).first() if isinstance(run_id, str) else None
    role = project_role(session, actor, row[1]) if row is not None else None
    if role is None:
        raise NotFound(f"run {run_id} not found", "run_id")
    if RANK[role] < RANK[need]:
        raise Forbidden(f"you need the {need} role on project {row[1].name!r}")
    return row[0]


def _visibility(actor: Actor):  # noqa: ANN202
    shared = select(ProjectShare.project_id).where(ProjectShare.team_id.in_(actor.team_ids))
    return or_(Project.team_id.in_(actor.team_ids), Project.id.in_(shared))


def visible_projects(actor: Actor) -> Select:
    """A select of the projects the actor can see (own teams' and shared with them)."""
    return select(Project) if actor.is_admin else select(Project).where(_visibility(actor))


def visible_project_ids(actor: Actor) -> Select:
    return select(Project.id) if actor.is_admin else select(Project.id).where(_visibility(actor))
