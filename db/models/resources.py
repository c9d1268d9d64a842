"""Resource figures logged for a run, and each team's cost rates (see services.resources)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, now_ms


class RunResources(Base):
    """Figures logged directly with POST /runs/{id}/resources; a NULL figure falls back to derived values."""

    __tablename__ = "run_resources"
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True)
    cpu_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    gpu_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_memory_gb: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)
    updated_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class TeamRates(Base):
    """A team's prices (USD) for its runs' cost; a team without a row uses services.resources.DEFAULT_RATES."""

    __tablename__ = "team_rates"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    cpu_per_hour: Mapped[float] = mapped_column(Float)
    gpu_per_hour: Mapped[float] = mapped_column(Float)
    memory_per_gb_hour: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)
    updated_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
