"""Metric series (one per run and key, holding the running summary) and their narrow point rows."""
from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class MetricSeries(Base):
    """Summary of one metric of one run: updated in the same transaction as every insert of its points."""

    __tablename__ = "metric_series"
    __table_args__ = (UniqueConstraint("run_pk", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250), index=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_step: Mapped[int] = mapped_column(BigInteger, default=-(2**62))
    last_ts: Mapped[int] = mapped_column(BigInteger, default=0)
    min_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rollup_from: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # lowest step with stale rollups


class MetricPoint(Base):
    """One logged value. (series, step, timestamp) is the key, so a replayed batch cannot double-count.

    No foreign key on series_id: the per-row constraint check tripled bulk-insert time on Postgres; points are
    only written through db.metric_rows after their series row exists in the same transaction.
    """

    __tablename__ = "metric_points"
    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # NULL: a NaN on SQLite (0003)


class MetricRollup(Base):
    """Pre-aggregated step buckets of a series at widths 16, 256, 4096, …: charts read these, not raw points.

    Rebuilt lazily from `MetricSeries.rollup_from` upwards when a chart asks, so ingest stays a plain insert.
    """

    __tablename__ = "metric_rollups"
    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    step_lo: Mapped[int] = mapped_column(BigInteger)
    step_hi: Mapped[int] = mapped_column(BigInteger)
    min_value: Mapped[float | None] = mapped_column(Float, nullable=True)  # NULL: every value was NaN
    max_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(BigInteger)
