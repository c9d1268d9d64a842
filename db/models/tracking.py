"""Projects, experiments, runs and what hangs off a run: params, tags, notes, artifacts."""
from __future__ import annotations

from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base, Timestamped, new_id, now_ms

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")


class Project(Timestamped, Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    tag_rows: Mapped[list["ProjectTag"]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                        order_by="ProjectTag.tag")

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class ProjectTag(Base):
    __tablename__ = "project_tags"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Experiment(Timestamped, Base):
    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    hypothesis: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    domain: Mapped[str | None] = mapped_column(String(50), nullable=True)
    template_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    validation_criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tag_rows: Mapped[list["ExperimentTag"]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                           order_by="ExperimentTag.tag")
    project: Mapped[Project] = relationship()

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class ExperimentTag(Base):
    __tablename__ = "experiment_tags"
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Run(Timestamped, Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_experiment_start", "experiment_id", "start_time"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id"))
    parent_pk: Mapped[int | None] = mapped_column(ForeignKey("runs.pk"), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(250), default="")
    status: Mapped[str] = mapped_column(String(16), default="RUNNING")
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    start_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    end_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    git_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    parent: Mapped["Run | None"] = relationship(remote_side="Run.pk")
    experiment: Mapped[Experiment] = relationship()

    @property
    def parent_id(self) -> str | None:
        return self.parent.id if self.parent_pk is not None and self.parent is not None else None


class Param(Base):
    __tablename__ = "params"
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)


class RunTag(Base):
    __tablename__ = "run_tags"
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class Note(Timestamped, Base):
    """Markdown note on a run, optionally anchored to a metric key and step."""

    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), index=True)
    author_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    metric_key: Mapped[str | None] = mapped_column(String(250), nullable=True)
    step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_pk", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(50), default="other")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    stored: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
