"""The backends a use case needs (sessions, live bus, artifact store, cache) and the acting user."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from cachelib import BaseCache
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from live import LiveBus
from services.errors import Busy
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

    @contextmanager
    def heavy_slots_or_busy(self, wait_seconds: float = 10.0) -> Iterator[None]:
        """Bound concurrent heavy chart/compare work (MAX_CONCURRENT_VISUALIZATIONS per process)."""
        if not self.heavy_slots.acquire(timeout=wait_seconds):
            raise Busy("too many charts are being computed right now; try again in a moment")
        try:
            yield
        finally:
            self.heavy_slots.release()


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
