"""Dashboard look-ups: project switcher options, name search, filter choices, teams the actor may write to."""
from __future__ import annotations

from sqlalchemy import select

from db.models import Experiment, Project, ProjectTag, Run, Team
from services.access import RANK, visible_project_ids
from services.context import Actor, Core

MAX_QUERY = 100


def project_options(core: Core, actor: Actor) -> list[dict]:
    """Every project the actor can see as {id, name, team}, by team then name."""
    stmt = (select(Project.id, Project.name, Team.name).join(Team, Team.id == Project.team_id)
            .where(Project.id.in_(visible_project_ids(actor))).order_by(Team.name, Project.name))
    with core.sessions() as session:
        return [{"id": pid, "name": name, "team": team} for pid, name, team in session.execute(stmt)]


def search(core: Core, actor: Actor, query: str, limit: int = 6) -> dict[str, list[dict]]:
    """Projects, experiments and runs whose name contains `query` (case-insensitive), visible ones only."""
    text = (query or "").strip()[:MAX_QUERY]
    if not text:
        return {"projects": [], "experiments": [], "runs": []}
    visible = visible_project_ids(actor)
    with core.sessions() as session:
        projects = session.execute(
            select(Project.id, Project.name, Team.name).join(Team, Team.id == Project.team_id)
            .where(Project.id.in_(visible), Project.name.icontains(text, autoescape=True))
            .order_by(Project.name).limit(limit)).all()
        experiments = session.execute(
            select(Experiment.id, Experiment.name, Project.name).join(Project, Project.id == Experiment.project_id)
            .where(Experiment.project_id.in_(visible), Experiment.deleted_at.is_(None),
                   Experiment.name.icontains(text, autoescape=True))
            .order_by(Experiment.name).limit(limit)).all()
        runs = session.execute(
            select(Run.id, Run.name, Experiment.name).join(Experiment, Experiment.id == Run.experiment_id)
            .where(Experiment.project_id.in_(visible), Experiment.deleted_at.is_(None), Run.deleted_at.is_(None),
                   Run.name.icontains(text, autoescape=True))
            .order_by(Run.start_time.desc()).limit(limit)).all()
    return {"projects": [{"id": i, "name": n, "context": t} for i, n, t in projects],
            "experiments": [{"id": i, "name": n, "context": p} for i, n, p in experiments],
            "runs": [{"id": i, "name": n, "context": e} for i, n, e in runs]}


def filter_choices(core: Core, actor: Actor) -> dict[str, list[str]]:
    """Team names and project tags that occur among the visible projects (for the browser's filters)."""
    visible = visible_project_ids(actor)
    with core.sessions() as session:
        teams = session.execute(select(Team.name).join(Project, Project.team_id == Team.id)
                                .where(Project.id.in_(visible)).distinct().order_by(Team.name)).scalars()
        tags = session.execute(select(ProjectTag.tag).where(ProjectTag.project_id.in_(visible))
                               .distinct().order_by(ProjectTag.tag)).scalars()
        return {"teams": list(teams), "tags": list(tags)}


def writable_teams(core: Core, actor: Actor) -> list[str]:
    """Names of the teams in which the actor may create projects (editor or admin; site admins: all)."""
    stmt = select(Team.id, Team.name).order_by(Team.name)
    with core.sessions() as session:
        rows = session.execute(stmt).all()
    if actor.is_admin:
        return [name for _, name in rows]
    return [name for tid, name in rows if RANK.get(actor.team_roles.get(tid, ""), 0) >= RANK["editor"]]
