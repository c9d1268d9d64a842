"""The backends a use case needs (sessions, live bus, artifact store, cache) and the acting user."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cachelib import BaseCache
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from live import LiveBus
from storage import ArtifactStore


@dataclass
class Core:
    settings: Settings
    sessions: sessionmaker[Session]
    bus: LiveBus
    store: ArtifactStore
    cache: BaseCache
    heavy_slots: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self.heavy_slots = threading.BoundedSemaphore(self.settings.max_concurrent_visualizations)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user with their team roles (loaded once per request by the auth layer)."""

    user_id: str
    username: str
    is_admin: bool = False
    team_roles: dict[str, str] = field(default_factory=dict)  # team_id -> role

    @property
    def team_ids(self) -> list[str]:
        return list(self.team_roles)
