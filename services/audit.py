"""Audit trail: one row per change, written in the same transaction as the change."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db.models import AuditEvent
from services.context import Actor


def record(session: Session, actor: Actor | None, action: str, entity_type: str, entity_id: str,
           before: Any = None, after: Any = None) -> None:
    session.add(AuditEvent(user_id=actor.user_id if actor else None, action=action, entity_type=entity_type,
                           entity_id=str(entity_id), before=before, after=after))
