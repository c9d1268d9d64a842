"""Trends over time: best metric per experiment, run outcomes per day or week, durations, runs against start time.

Every answer is one or two SQL statements over the per-run metric summaries (never the raw points); deleted runs
and experiments are left out; access goes through services.access (an invisible project or experiment is 404).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from db.models import Experiment, MetricSeries, Run, now_ms
from services import validation
from services.access import require_experiment, require_project
from services.comparison import default_mode
from services.context import Actor, Core
from services.errors import Invalid
from services.resources import run_figures

MODES = ("max", "min")
SUMMARIES = ("last", "best")
OUTCOMES = ("FINISHED", "FAILED", "KILLED")
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
DAILY_UP_TO_DAYS = 60  # a span longer than this is bucketed by week
MAX_KEYS = 500
MAX_RUNS = 5000  # points drawn per chart; the newest runs win
TOP_RUNS = 5


def check_mode(metric: str, mode: Any) -> str:
    """"max" or "min"; missing → the metric's default (lower is better for losses and errors)."""
    if mode in (None, ""):
        return default_mode(metric)
    if mode not in MODES:
        raise Invalid("mode must be max or min", "mode")
    return mode


def _live(scope: ColumnElement) -> ColumnElement:
    return scope & Run.deleted_at.is_(None) & Experiment.deleted_at.is_(None)


def _keys(session: Session, scope: ColumnElement) -> list[str]:
    stmt = (select(MetricSeries.key).join(Run, Run.pk == MetricSeries.run_pk)
            .join(Experiment, Experiment.id == Run.experiment_id).where(_live(scope))
            .group_by(MetricSeries.key).order_by(MetricSeries.key).limit(MAX_KEYS))
    return list(session.execute(stmt).scalars())


def project_metric_keys(core: Core, actor: Actor, project_id: str) -> list[str]:
    with core.sessions() as session:
        project = require_project(session, actor, project_id)
        return _keys(session, Experiment.project_id == project.id)


def experiment_metric_keys(core: Core, actor: Actor, experiment_id: str) -> list[str]:
    with core.sessions() as session:
        experiment = require_experiment(session, actor, experiment_id)
        return _keys(session, Run.experiment_id == experiment.id)


def best_per_experiment(core: Core, actor: Actor, project_id: str, metric: str, mode: Any = None) -> dict:
    """One point per experiment having the metric: its best value over its runs, at the experiment's creation."""
    mode = check_mode(metric, mode)
    best = func.max(MetricSeries.max_value) if mode == "max" else func.min(MetricSeries.min_value)
    with core.sessions() as session:
        project = require_project(session, actor, project_id)
        rows = session.execute(
            select(Experiment.id, Experiment.name, Experiment.created_at, best.label("best"),
                   func.count(Run.pk).label("runs"))
            .join(Run, Run.experiment_id == Experiment.id).join(MetricSeries, MetricSeries.run_pk == Run.pk)
            .where(_live(Experiment.project_id == project.id), MetricSeries.key == metric)
            .group_by(Experiment.id, Experiment.name, Experiment.created_at)
            .order_by(Experiment.created_at, Experiment.name)).all()
    points = [{"experiment_id": r.id, "name": r.name, "created_at": validation.iso(r.created_at),
               "best": r.best, "runs": int(r.runs)} for r in rows if r.best is not None]
    return {"metric": metric, "mode": mode, "points": points}


def _bucket_width(session: Session, scope: ColumnElement) -> int:
    lo, hi = session.execute(select(func.min(Run.start_time), func.max(Run.start_time))
                             .join(Experiment, Experiment.id == Run.experiment_id).where(_live(scope))).one()
    return DAY_MS if lo is None or hi - lo <= DAILY_UP_TO_DAYS * DAY_MS else WEEK_MS


def outcomes(core: Core, actor: Actor, project_id: str) -> dict:
    """Finished, failed and killed runs (by start time) per day, or per week when the span is over 60 days."""
    with core.sessions() as session:
        project = require_project(session, actor, project_id)
        scope = Experiment.project_id == project.id
        width = _bucket_width(session, scope)
        bucket = (Run.start_time // width).label("bucket")
        rows = session.execute(
            select(bucket, Run.status, func.count(Run.pk)).join(Experiment, Experiment.id == Run.experiment_id)
            .where(_live(scope), Run.status.in_(OUTCOMES)).group_by(bucket, Run.status).order_by(bucket)).all()
    counts: dict[int, dict[str, int]] = {}
    for number, status, count in rows:
        counts.setdefault(int(number), dict.fromkeys(OUTCOMES, 0))[status] = int(count)
    buckets = [{"start": validation.iso(n * width), **c,
                "success_rate": c["FINISHED"] / sum(c.values())} for n, c in sorted(counts.items())]
    return {"unit": "day" if width == DAY_MS else "week", "buckets": buckets}


def durations(core: Core, actor: Actor, project_id: str) -> list[dict]:
    """Ended runs' durations in seconds with their experiment, newest MAX_RUNS runs."""
    with core.sessions() as session:
        project = require_project(session, actor, project_id)
        rows = session.execute(
            select(Run.id, Run.name, Run.start_time, Run.end_time, Experiment.id.label("experiment_id"),
                   Experiment.name.label("experiment"), Experiment.created_at)
            .join(Experiment, Experiment.id == Run.experiment_id)
            .where(_live(Experiment.project_id == project.id), Run.end_time.is_not(None))
            .order_by(Run.start_time.desc()).limit(MAX_RUNS)).all()
    rows = sorted(rows, key=lambda r: (r.created_at, r.experiment, r.start_time))
    return [{"run_id": r.id, "name": r.name, "experiment_id": r.experiment_id, "experiment": r.experiment,
             "seconds": (r.end_time - r.start_time) / 1000.0} for r in rows]


def experiment_runs(core: Core, actor: Actor, experiment_id: str, metric: str | None, summary: Any = "last",
                    mode: Any = None) -> dict:
    """Each run (newest MAX_RUNS) with start time, status, duration and the metric's last or best value."""
    if summary not in SUMMARIES:
        raise Invalid("summary must be last or best", "summary")
    mode = check_mode(metric or "", mode)
    best = MetricSeries.max_value if mode == "max" else MetricSeries.min_value
    value = MetricSeries.last_value if summary == "last" else best
    series = (select(MetricSeries.run_pk, value.label("value")).where(MetricSeries.key == (metric or ""))
              .subquery())
    with core.sessions() as session:
        experiment = require_experiment(session, actor, experiment_id)
        rows = session.execute(
            select(Run.id, Run.name, Run.status, Run.start_time, Run.end_time, series.c.value)
            .outerjoin(series, series.c.run_pk == Run.pk)
            .where(Run.experiment_id == experiment.id, Run.deleted_at.is_(None))
            .order_by(Run.start_time.desc()).limit(MAX_RUNS)).all()
    runs = [{"run_id": r.id, "name": r.name, "status": r.status, "start_time": validation.iso(r.start_time),
             "seconds": (r.end_time - r.start_time) / 1000.0 if r.end_time is not None else None,
             "value": r.value} for r in reversed(rows)]
    return {"metric": metric, "summary": summary, "mode": mode, "runs": runs}


def costliest_runs(core: Core, actor: Actor, experiment_id: str, limit: int = TOP_RUNS) -> list[dict]:
    """The experiment's most expensive runs (cost with the team's rates), in one statement."""
    now = now_ms()
    with core.sessions() as session:
        experiment = require_experiment(session, actor, experiment_id)
        figures = run_figures(session, Run.experiment_id == experiment.id, now)
        cost = (func.coalesce(figures.c.cpu_cost, 0.0) + func.coalesce(figures.c.gpu_cost, 0.0)
                + func.coalesce(figures.c.memory_cost, 0.0)).label("cost")
        rows = session.execute(
            select(figures.c.run_id, Run.name, figures.c.cpu_hours, figures.c.gpu_hours,
                   figures.c.peak_memory_gb, cost).join(Run, Run.pk == figures.c.run_pk)
            .where(cost > 0).order_by(cost.desc(), Run.name).limit(limit)).all()
    return [{"run_id": r.run_id, "name": r.name, "cpu_hours": r.cpu_hours, "gpu_hours": r.gpu_hours,
             "peak_memory_gb": r.peak_memory_gb, "cost": round(float(r.cost), 6)} for r in rows]
