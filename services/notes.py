"""Notes and annotations on a run: markdown by an author, optionally anchored to a metric key and step."""
from __future__ import annotations

from sqlalchemy import func, select

from db.models import Note, User
from services import audit, validation
from services.access import require_run
from services.context import Actor, Core
from services.errors import Invalid, NotFound
from services.paging import Page, check_limit, offset_from, offset_page

MAX_NOTE = 20_000


def note_dict(note: Note, run_id: str, author: str | None) -> dict:
    return {"id": note.id, "run_id": run_id, "author_id": note.author_id, "author": author, "body": note.body,
            "metric_key": note.metric_key, "step": note.step, "created_at": validation.iso(note.created_at),
            "updated_at": validation.iso(note.updated_at)}


def add_note(core: Core, actor: Actor, run_id: str, body: str, metric_key: str | None = None,
             step: int | None = None) -> dict:
    """Editors annotate; notes stay possible on locked runs (they are commentary, not results)."""
    body = (body or "").strip()
    if not body:
        raise Invalid("body must not be empty", "body")
    if len(body) > MAX_NOTE:
        raise Invalid(f"body is longer than {MAX_NOTE} characters", "body")
    if metric_key is not None:
        validation.key(metric_key, "metric_key")
    if (metric_key is None) != (step is None):
        raise Invalid("an annotation anchored to a chart needs both metric_key and step", "step")
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, "editor")
        note = Note(run_pk=run.pk, author_id=actor.user_id, body=body, metric_key=metric_key, step=step)
        session.add(note)
        session.flush()
        result = note_dict(note, run_id, actor.username)
        audit.record(session, actor, "note.create", "run", run_id, after=result)
        experiment_id = run.experiment_id
    core.bus.bump([f"run:{run_id}", f"exp:{experiment_id}"], {"type": "note", "run_id": run_id})
    return result


def list_notes(core: Core, actor: Actor, run_id: str) -> list[dict]:
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        rows = session.execute(select(Note, User.username).outerjoin(User, User.id == Note.author_id)
                               .where(Note.run_pk == run.pk).order_by(Note.created_at, Note.id)).all()
        return [note_dict(note, run_id, author) for note, author in rows]


def note_page(core: Core, actor: Actor, run_id: str, limit: int = 100, cursor: str | None = None) -> Page:
    """list_notes paged like every other list of the API."""
    limit, offset = check_limit(limit), offset_from(cursor)
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        total = session.execute(select(func.count(Note.id)).where(Note.run_pk == run.pk)).scalar_one()
        rows = session.execute(select(Note, User.username).outerjoin(User, User.id == Note.author_id)
                               .where(Note.run_pk == run.pk).order_by(Note.created_at, Note.id)
                               .offset(offset).limit(limit + 1)).all()
        items = [note_dict(note, run_id, author) for note, author in rows]
    return offset_page(items, offset, limit, total)


def delete_note(core: Core, actor: Actor, run_id: str, note_id: str) -> None:
    """Authors delete their own notes; project admins delete any."""
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id)
        note = session.get(Note, note_id)
        if note is None or note.run_pk != run.pk:
            raise NotFound(f"note {note_id} not found", "note_id")
        if note.author_id != actor.user_id:
            require_run(session, actor, run_id, "admin")
        elif not actor.is_admin:
            require_run(session, actor, run_id, "editor")
        before = note_dict(note, run_id, None)
        session.delete(note)
        audit.record(session, actor, "note.delete", "run", run_id, before=before)
        experiment_id = run.experiment_id
    core.bus.bump([f"run:{run_id}", f"exp:{experiment_id}"], {"type": "note", "run_id": run_id})


