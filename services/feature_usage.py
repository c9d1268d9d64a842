"""Feature usage of a run (log_feature_usage): feature sets as filterable tags, the record as an artifact."""
from __future__ import annotations

import io
import json
from typing import Any

from sqlalchemy import select

from db.models import Artifact
from services import artifacts, runs, validation
from services.access import require_run
from services.context import Actor, Core
from services.errors import Invalid

MAX_FEATURES = 100_000
FEATURE_ARTIFACT = "feature_usage.json"
FEATURE_TAG = "feature_set/"


def _importance(raw: dict[str, Any] | None) -> dict[str, float]:
    cleaned: dict[str, float] = {}
    for name, value in (raw or {}).items():
        if not isinstance(name, str) or not name or len(name) > validation.MAX_KEY:
            raise Invalid(f"feature_importance: feature name {str(name)[:40]!r} must be 1-250 characters",
                          "feature_importance")
        cleaned[name] = validation.finite(value, f"feature_importance.{name}")
    if len(cleaned) > MAX_FEATURES:
        raise Invalid(f"at most {MAX_FEATURES} features", "feature_importance")
    return dict(sorted(cleaned.items(), key=lambda kv: (-abs(kv[1]), kv[0])))


def log_feature_usage(core: Core, actor: Actor, run_id: str, feature_sets: list[str],
                      feature_importance: dict[str, Any] | None = None) -> dict:
    """Merge into what the run already has: sets become tags feature_set/<name> (filterable), the whole record
    is the run's feature_usage.json artifact."""
    sets = [validation.key(s, f"feature_sets[{i}]") for i, s in enumerate(feature_sets or [])]
    importance = _importance(feature_importance)
    if not sets and not importance:
        raise Invalid("send feature_sets and/or feature_importance", "feature_sets")
    previous = feature_usage(core, actor, run_id)
    merged_sets = list(dict.fromkeys([*previous["feature_sets"], *sets]))
    merged = _importance({**previous["feature_importance"], **importance})
    record = {"feature_sets": merged_sets, "feature_importance": merged}
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, "editor")
        runs.ensure_writable(run)
        runs.set_tags(session, run, {f"{FEATURE_TAG}{s}": "used" for s in sets})
    stored = artifacts.upload(core, actor, run_id, FEATURE_ARTIFACT, io.BytesIO(json.dumps(record).encode()),
                              type="metrics", metadata={"kind": "feature_usage"}, content_type="application/json")
    return {"run_id": run_id, **record, "artifact_id": stored["id"]}


def _stored(core: Core, actor: Actor, run_id: str) -> tuple[str, str] | None:
    """(artifact id, sha256) of the run's feature_usage.json, or None: one indexed read, no artifact bytes."""
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        row = session.execute(select(Artifact.id, Artifact.sha256).where(
            Artifact.run_pk == run.pk, Artifact.name == FEATURE_ARTIFACT, Artifact.stored.is_(True))).first()
    return (row[0], row[1] or "") if row else None


def fingerprint(core: Core, actor: Actor, run_id: str) -> str | None:
    """Changes exactly when the stored feature usage does (its sha256); None when nothing was logged."""
    stored = _stored(core, actor, run_id)
    return stored[1] if stored else None


def feature_usage(core: Core, actor: Actor, run_id: str) -> dict:
    """What log_feature_usage stored; empty lists when nothing was logged."""
    stored = _stored(core, actor, run_id)
    if stored is None:
        return {"run_id": run_id, "feature_sets": [], "feature_importance": {}, "artifact_id": None,
                "fingerprint": None}
    info, chunks = artifacts.open_artifact(core, actor, run_id, stored[0])
    try:
        record = json.loads(b"".join(chunks))
    except ValueError:
        record = {}
    return {"run_id": run_id, "feature_sets": list(record.get("feature_sets") or []),
            "feature_importance": dict(record.get("feature_importance") or {}), "artifact_id": info["id"],
            "fingerprint": info.get("sha256") or stored[1]}
