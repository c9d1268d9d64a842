"""Artifacts: register one that lives elsewhere, upload bytes into the store, list, stream a download."""
from __future__ import annotations

from typing import Any, BinaryIO, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Artifact, Run
from services import audit, validation
from services.access import require_run
from services.context import Actor, Core
from services.errors import Conflict, Invalid, NotFound
from services.paging import Page, check_limit, offset_from, offset_page
from services.runs import ensure_writable
from storage import InvalidKey, ObjectNotFound, validate_key

ARTIFACT_TYPES = ("model", "data", "preprocessor", "metrics", "image", "text", "table", "confusion_matrix",
                  "config", "log", "other")


def artifact_dict(a: Artifact, run_id: str) -> dict:
    return {"id": a.id, "run_id": run_id, "name": a.name, "path": a.path, "type": a.type,
            "size_bytes": a.size_bytes, "sha256": a.sha256, "metadata": a.meta or {}, "stored": a.stored,
            "created_at": validation.iso(a.created_at),
            "download_url": f"/api/v1/runs/{run_id}/artifacts/{a.id}/content" if a.stored else None}


MAX_NAME = 500  # the artifacts.name column


def _name(name: str) -> str:
    if isinstance(name, str) and len(name) > MAX_NAME:
        raise Invalid(f"artifact name is longer than {MAX_NAME} characters", "name")
    if isinstance(name, str) and any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Invalid(f"artifact name {name[:60]!r} must not contain control characters", "name")
    try:
        return validate_key(name)
    except InvalidKey as exc:
        raise Invalid(f"artifact name {name[:60]!r} is not a valid relative path: {exc}", "name") from None


def _type(kind: str | None) -> str:
    kind = kind or "other"
    if kind not in ARTIFACT_TYPES:
        raise Invalid(f"type must be one of {', '.join(ARTIFACT_TYPES)}", "type")
    return kind


def register(core: Core, actor: Actor, run_id: str, name: str, path: str, type: str | None = None,
             size_bytes: int | None = None, metadata: dict[str, Any] | None = None) -> dict:
    """Record an artifact that already lives at a URI (the seed's body)."""
    name, kind = _name(name), _type(type)
    if not path or len(path) > 2000:
        raise Invalid("path must be a URI of at most 2000 characters", "path")
    if size_bytes is not None and not 0 <= size_bytes < 2**63:
        raise Invalid("size_bytes must be between 0 and 2^63 - 1", "size_bytes")
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, "editor")
        ensure_writable(run)
        if session.execute(select(Artifact.id).where(Artifact.run_pk == run.pk, Artifact.name == name)).first():
            raise Conflict(f"run {run_id} already has an artifact named {name!r}", "name")
        art = Artifact(run_pk=run.pk, name=name, path=path, type=kind, size_bytes=size_bytes,
                       meta=dict(metadata or {}), stored=False)
        session.add(art)
        session.flush()
        result = artifact_dict(art, run_id)
        audit.record(session, actor, "artifact.register", "run", run_id, after=result)
        experiment_id = run.experiment_id
    core.bus.bump([f"run:{run_id}", f"exp:{experiment_id}"], {"type": "artifact", "run_id": run_id})
    return result


def upload(core: Core, actor: Actor, run_id: str, name: str, stream: BinaryIO, type: str | None = None,
           metadata: dict[str, Any] | None = None, content_type: str = "application/octet-stream") -> dict:
    """Stream bytes into the store, then record size and sha256; re-uploading a name replaces it."""
    name, kind = _name(name), _type(type)
    with core.sessions() as session:
        run = require_run(session, actor, run_id, "editor")
        ensure_writable(run)
        store_key = f"{run.experiment_id}/{run.id}/{name}"
    stored = core.store.put(store_key, stream, content_type)
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, "editor")
        art = session.execute(select(Artifact).where(Artifact.run_pk == run.pk, Artifact.name == name)
                              ).scalar_one_or_none()
        before = artifact_dict(art, run_id) if art else None
        art = art or Artifact(run_pk=run.pk, name=name)
        art.path, art.type, art.size_bytes, art.sha256 = stored.uri, kind, stored.size, stored.sha256
        art.meta, art.stored = dict(metadata or {}), True
        session.add(art)
        session.flush()
        result = artifact_dict(art, run_id)
        audit.record(session, actor, "artifact.upload", "run", run_id, before, result)
        experiment_id = run.experiment_id
    core.bus.bump([f"run:{run_id}", f"exp:{experiment_id}"], {"type": "artifact", "run_id": run_id})
    return result


def list_artifacts(core: Core, actor: Actor, run_id: str, limit: int = 100, cursor: str | None = None) -> Page:
    limit, offset = check_limit(limit), offset_from(cursor)
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        base = select(Artifact).where(Artifact.run_pk == run.pk)
        total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        rows = session.execute(base.order_by(Artifact.name).offset(offset).limit(limit + 1)).scalars()
        items = [artifact_dict(a, run_id) for a in rows]
    return offset_page(items, offset, limit, total)


def find_artifact(session: Session, actor: Actor, run_id: str, artifact_id: str) -> tuple[Run, Artifact]:
    """The run (permission-checked for reading) and its artifact; NotFound when the run has no such artifact."""
    run = require_run(session, actor, run_id)
    art = session.execute(select(Artifact).where(Artifact.run_pk == run.pk, Artifact.id == artifact_id)
                          ).scalar_one_or_none()
    if art is None:
        raise NotFound(f"artifact {artifact_id} not found on run {run_id}", "artifact_id")
    return run, art


def open_artifact(core: Core, actor: Actor, run_id: str, artifact_id: str) -> tuple[dict, Iterator[bytes]]:
    """Permission-checked metadata plus a chunk iterator over the stored bytes."""
    with core.sessions() as session:
        run, art = find_artifact(session, actor, run_id, artifact_id)
        info = artifact_dict(art, run_id)
        store_key = f"{run.experiment_id}/{run.id}/{art.name}"
    if not info["stored"]:
        raise NotFound(f"artifact {info['name']!r} is not stored here; it lives at {info['path']}", "artifact_id")
    try:
        core.store.size(store_key)
    except ObjectNotFound:
        raise NotFound(f"the bytes of artifact {info['name']!r} are missing from the store", "artifact_id") from None
    return info, core.store.open(store_key)

