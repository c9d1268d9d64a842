"""Projects: create, list (by team and tag, paged), get, update, share with another team."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from db.models import Experiment, Membership, Project, ProjectShare, ProjectTag, Run, Team
from services import audit, validation
from services.access import RANK, project_role, require_project, visible_projects
from services.context import Actor, Core
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.paging import Page, check_limit, offset_from, offset_page


def project_dict(project: Project, team_name: str | None = None, counts: dict | None = None) -> dict:
    data = {"id": project.id, "name": project.name, "description": project.description,
            "team_id": project.team_id, "team": team_name, "tags": project.tags,
            "created_by": project.created_by, "created_at": validation.iso(project.created_at),
            "updated_at": validation.iso(project.updated_at)}
    if counts is not None:
        data.update(counts)
    return data


def _resolve_team(session, actor: Actor, team_name: str | None) -> Team:  # noqa: ANN001
    """The team to own a new project; a site admin naming an unknown team creates it."""
    if not team_name:
        editable = [t for t, r in actor.team_roles.items() if RANK[r] >= RANK["editor"]]
        if len(editable) != 1:
            raise Invalid("team is required (you can write to several teams or none)", "team")
        return session.get(Team, editable[0])
    team = session.execute(select(Team).where(Team.name == team_name)).scalar_one_or_none()
    if team is None and actor.is_admin:
        team = Team(name=validation.name(team_name, "team", 100))
        session.add(team)
        session.flush()
        session.add(Membership(team_id=team.id, user_id=actor.user_id, role="admin"))
        audit.record(session, actor, "team.create", "team", team.id, after={"name": team.name})
    if team is None or (not actor.is_admin and team.id not in actor.team_roles):
        raise NotFound(f"team {team_name!r} not found", "team")
    if not actor.is_admin and RANK[actor.team_roles[team.id]] < RANK["editor"]:
        raise Forbidden(f"you need the editor role in team {team_name!r} to create projects")
    return team


def create_project(core: Core, actor: Actor, name: str, description: str = "", team: str | None = None,
                   tags: list[str] | None = None) -> dict:
    name = validation.name(name, "name")
    tag_list = validation.tags(tags)
    with core.sessions.begin() as session:
        owner = _resolve_team(session, actor, team)
        if session.execute(select(Project.id).where(Project.team_id == owner.id, Project.name == name)).first():
            raise Conflict(f"project {name!r} already exists in team {owner.name!r}", "name")
        project = Project(team_id=owner.id, name=name, description=description or "", created_by=actor.user_id,
                          tag_rows=[ProjectTag(tag=t) for t in tag_list])
        session.add(project)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"project {name!r} already exists in team {owner.name!r}", "name") from None
        result = project_dict(project, owner.name)
        audit.record(session, actor, "project.create", "project", project.id, after=result)
    core.bus.bump(["projects"], {"type": "project.created", "project_id": project.id})
    return result


def list_projects(core: Core, actor: Actor, team: str | None = None, tag: str | None = None,
                  limit: int = 100, cursor: str | None = None) -> Page:
    limit, offset = check_limit(limit), offset_from(cursor)
    stmt = visible_projects(actor)
    if team:
        stmt = stmt.join(Team, Team.id == Project.team_id).where(Team.name == team)
    if tag:
        stmt = stmt.where(Project.id.in_(select(ProjectTag.project_id).where(ProjectTag.tag == tag)))
    with core.sessions() as session:
        total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = session.execute(stmt.order_by(Project.name, Project.id).offset(offset).limit(limit + 1)).scalars()
        rows = list(rows)
        teams = _team_names(session, {p.team_id for p in rows})
        counts = _counts(session, [p.id for p in rows])
        items = [project_dict(p, teams.get(p.team_id), counts.get(p.id, _NO_COUNTS)) for p in rows]
    return offset_page(items, offset, limit, total)


_NO_COUNTS = {"experiment_count": 0, "run_count": 0, "last_activity": None}


def _team_names(session, team_ids: set[str]) -> dict[str, str]:  # noqa: ANN001
    if not team_ids:
        return {}
    return dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())


def _counts(session, project_ids: list[str]) -> dict[str, dict]:  # noqa: ANN001
    if not project_ids:
        return {}
    stmt = (select(Experiment.project_id, func.count(func.distinct(Experiment.id)), func.count(Run.pk),
                   func.max(func.coalesce(Run.updated_at, Experiment.updated_at)))
            .outerjoin(Run, (Run.experiment_id == Experiment.id) & Run.deleted_at.is_(None))
            .where(Experiment.project_id.in_(project_ids), Experiment.deleted_at.is_(None))
            .group_by(Experiment.project_id))
    return {pid: {"experiment_count": e, "run_count": r, "last_activity": validation.iso(last)}
            for pid, e, r, last in session.execute(stmt)}


def get_project(core: Core, actor: Actor, project_id: str) -> dict:
    with core.sessions() as session:
        project = require_project(session, actor, project_id)
        team = session.get(Team, project.team_id)
        counts = _counts(session, [project.id]).get(project.id, _NO_COUNTS)
        data = project_dict(project, team.name if team else None, counts)
        data["role"] = project_role(session, actor, project)
    return data


def update_project(core: Core, actor: Actor, project_id: str, description: str | None = None,
                   tags: list[str] | None = None) -> dict:
    with core.sessions.begin() as session:
        project = require_project(session, actor, project_id, "editor")
        before = project_dict(project)
        if description is not None:
            project.description = description
        if tags is not None:
            project.tag_rows = [ProjectTag(tag=t) for t in validation.tags(tags)]
        session.flush()
        after = project_dict(project)
        audit.record(session, actor, "project.update", "project", project.id, before, after)
    return get_project(core, actor, project_id)


def share_project(core: Core, actor: Actor, project_id: str, team_name: str, role: str | None) -> dict:
    """Give another team viewer/editor access (role None removes the share)."""
    if role is not None and role not in ("viewer", "editor"):
        raise Invalid("role must be viewer or editor", "role")
    with core.sessions.begin() as session:
        project = require_project(session, actor, project_id, "admin")
        team = session.execute(select(Team).where(Team.name == team_name)).scalar_one_or_none()
        if team is None:
            raise NotFound(f"team {team_name!r} not found", "team")
        share = session.get(ProjectShare, (project.id, team.id))
        before = {"team": team.name, "role": share.role} if share else None
        if role is None and share is not None:
            session.delete(share)
        elif role is not None:
            share = share or ProjectShare(project_id=project.id, team_id=team.id)
            share.role = role
            session.add(share)
        audit.record(session, actor, "project.share", "project", project.id, before,
                     {"team": team.name, "role": role})
    return {"project_id": project_id, "team": team_name, "role": role}


def list_shares(core: Core, actor: Actor, project_id: str) -> list[dict]:
    """The teams a project is shared with and their role, by team name (project editors and admins)."""
    with core.sessions() as session:
        project = require_project(session, actor, project_id, "editor")
        rows = session.execute(select(Team.name, ProjectShare.role).join(Team, Team.id == ProjectShare.team_id)
                               .where(ProjectShare.project_id == project.id).order_by(Team.name))
        return [{"team": name, "role": role} for name, role in rows]
