"""Experiments inside a project: create, list, get, update."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from db.models import Experiment, ExperimentTag, Run
from services import audit, gates, validation
from services.access import require_experiment, require_project, visible_project_ids
from services.context import Actor, Core
from services.errors import Conflict, Invalid
from services.paging import Page, check_limit, offset_from, offset_page

EXPERIMENT_STATUSES = ("active", "archived")
_SETTING_FIELDS = ("metrics", "model_registry_integration")


def experiment_dict(exp: Experiment, counts: dict | None = None) -> dict:
    data = {"id": exp.id, "project_id": exp.project_id, "name": exp.name, "description": exp.description,
            "hypothesis": exp.hypothesis, "tags": exp.tags, "status": exp.status, "type": exp.type,
            "domain": exp.domain, "template_id": exp.template_id,
            "validation_criteria": exp.validation_criteria or {}, **{k: (exp.settings or {}).get(k)
                                                                      for k in _SETTING_FIELDS},
            "created_by": exp.created_by, "created_at": validation.iso(exp.created_at),
            "updated_at": validation.iso(exp.updated_at)}
    if counts is not None:
        data.update(counts)
    return data


def create_experiment(core: Core, actor: Actor, project_id: str, name: str, description: str = "",
                      hypothesis: str = "", tags: list[str] | None = None, **extra: Any) -> dict:
    name = validation.name(name, "name")
    tag_list = validation.tags(tags)
    with core.sessions.begin() as session:
        require_project(session, actor, project_id, "editor")
        exists = select(Experiment.id).where(Experiment.project_id == project_id, Experiment.name == name)
        if session.execute(exists).first():
            raise Conflict(f"experiment {name!r} already exists in this project", "name")
        exp = Experiment(project_id=project_id, name=name, description=description or "",
                         hypothesis=hypothesis or "", created_by=actor.user_id,
                         type=extra.get("type"), domain=extra.get("domain"), template_id=extra.get("template_id"),
                         validation_criteria=gates.check_criteria(extra.get("validation_criteria")),
                         settings={k: extra[k] for k in _SETTING_FIELDS if extra.get(k) is not None},
                         tag_rows=[ExperimentTag(tag=t) for t in tag_list])
        session.add(exp)
        try:
            session.flush()
        except IntegrityError:  # a concurrent create or rename took the name
            raise Conflict("an experiment with this name already exists in this project", "name") from None
        result = experiment_dict(exp)
        audit.record(session, actor, "experiment.create", "experiment", exp.id, after=result)
    core.bus.bump([f"project:{project_id}"], {"type": "experiment.created", "experiment_id": exp.id})
    return result


def list_experiments(core: Core, actor: Actor, project_id: str | None = None, tag: str | None = None,
                     status: str | None = None, limit: int = 100, cursor: str | None = None) -> Page:
    limit, offset = check_limit(limit), offset_from(cursor)
    with core.sessions() as session:
        stmt = select(Experiment).where(Experiment.deleted_at.is_(None))
        if project_id:
            require_project(session, actor, project_id)
            stmt = stmt.where(Experiment.project_id == project_id)
        else:
            stmt = stmt.where(Experiment.project_id.in_(visible_project_ids(actor)))
        if tag:
            stmt = stmt.where(Experiment.id.in_(select(ExperimentTag.experiment_id).where(ExperimentTag.tag == tag)))
        if status:
            stmt = stmt.where(Experiment.status == status)
        total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = list(session.execute(stmt.order_by(Experiment.created_at.desc(), Experiment.id)
                                    .offset(offset).limit(limit + 1)).scalars())
        counts = run_counts(session, [e.id for e in rows[:limit]])
        items = [experiment_dict(e, counts.get(e.id, {"run_count": 0, "last_activity": None})) for e in rows]
    return offset_page(items, offset, limit, total)


def run_counts(session, experiment_ids: list[str]) -> dict[str, dict]:  # noqa: ANN001
    if not experiment_ids:
        return {}
    stmt = (select(Run.experiment_id, func.count(Run.pk), func.max(Run.updated_at))
            .where(Run.experiment_id.in_(experiment_ids), Run.deleted_at.is_(None)).group_by(Run.experiment_id))
    return {eid: {"run_count": n, "last_activity": validation.iso(last)} for eid, n, last in session.execute(stmt)}


def get_experiment(core: Core, actor: Actor, experiment_id: str) -> dict:
    with core.sessions() as session:
        exp = require_experiment(session, actor, experiment_id)
        counts = run_counts(session, [exp.id]).get(exp.id, {"run_count": 0, "last_activity": None})
        return experiment_dict(exp, counts)


def update_experiment(core: Core, actor: Actor, experiment_id: str, **changes: Any) -> dict:
    with core.sessions.begin() as session:
        exp = require_experiment(session, actor, experiment_id, "editor")
        before = experiment_dict(exp)
        if changes.get("name") is not None and changes["name"] != exp.name:
            new_name = validation.name(changes["name"], "name")
            taken = select(Experiment.id).where(Experiment.project_id == exp.project_id, Experiment.name == new_name,
                                                Experiment.id != exp.id)
            if session.execute(taken).first():
                raise Conflict(f"experiment {new_name!r} already exists in this project", "name")
            exp.name = new_name
        for text_field in ("description", "hypothesis"):
            if changes.get(text_field) is not None:
                setattr(exp, text_field, changes[text_field])
        if changes.get("status") is not None:
            if changes["status"] not in EXPERIMENT_STATUSES:
                raise Invalid(f"status must be one of {', '.join(EXPERIMENT_STATUSES)}", "status")
            exp.status = changes["status"]
        if changes.get("tags") is not None:
            exp.tag_rows = [ExperimentTag(tag=t) for t in validation.tags(changes["tags"])]
        if changes.get("validation_criteria") is not None:
            exp.validation_criteria = gates.check_criteria(changes["validation_criteria"])
        try:
            session.flush()
        except IntegrityError:  # a concurrent create or rename took the name
            raise Conflict("an experiment with this name already exists in this project", "name") from None
        audit.record(session, actor, "experiment.update", "experiment", exp.id, before, experiment_dict(exp))
    core.bus.bump([f"exp:{experiment_id}"], {"type": "experiment.updated", "experiment_id": experiment_id})
    return get_experiment(core, actor, experiment_id)
