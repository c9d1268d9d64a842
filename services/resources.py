"""Resource usage (cpu_hours, gpu_hours, peak_memory_gb) and cost of runs, summed per experiment, project and team.

Each figure of a run comes from the first source that has it:

1. "logged": POST /api/v1/runs/{id}/resources (run_resources table);
2. "system_metrics": the system metrics our Python client logs, over the run's duration —
   cpu_hours      = mean(system/cpu_percent)/100 × environment.cpu_count (1 if not declared) × hours
   gpu_hours      = Σ_i mean(system/gpu<i>/utilization_percent)/100 × hours, or
                    mean(system/gpu_utilization)/100 × environment.gpu_count (1 if not declared) × hours
   peak_memory_gb = max(system/process_rss_mb), else max(system/memory_used_mb), / 1024
   (percentages outside 0..100 and memory outside 0..1e9 MB are ignored);
3. "declared": duration × the resources declared in the run's environment: cpu_count, gpu_count, memory_gb.

A figure with no source is null and costs nothing. Duration: end_time − start_time; a RUNNING run without an end
counts until now (the answer carries "as_of"); any other run without an end counts zero.
memory_gb_hours = peak_memory_gb × hours. Cost = cpu_hours × cpu_per_hour + gpu_hours × gpu_per_hour +
memory_gb_hours × memory_per_gb_hour, with the rates of the team owning the run's project (team_rates table;
defaults DEFAULT_RATES). Every figure and total is computed in one SQL statement per request.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from sqlalchemy import Float, Numeric, Select, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from db.models import Experiment, MetricPoint, MetricSeries, Project, Run, Team, now_ms
from db.models.resources import RunResources, TeamRates
from services import audit, validation
from services.access import require_experiment, require_project, require_run
from services.context import Actor, Core
from services.errors import Forbidden, Invalid, NotFound
from services.runs import ensure_writable

CURRENCY = "USD"
DEFAULT_RATES = {"cpu_per_hour": 0.05, "gpu_per_hour": 2.50, "memory_per_gb_hour": 0.005}
RATE_NAMES = tuple(DEFAULT_RATES)
FIGURES = ("cpu_hours", "gpu_hours", "peak_memory_gb")
MAX_FIGURE = 1e9  # hours or GB; anything larger is a mistake, and it keeps every product finite
MAX_RATE = 1e6  # USD per unit
MAX_DECLARED = 1e6  # environment cpu_count / gpu_count / memory_gb beyond this are ignored
MAX_PERCENT = 100.0
MAX_MEMORY_MB = 1e9
MS_PER_HOUR = 3_600_000.0
DIGITS = 6

CPU_KEY = "system/cpu_percent"
GPU_KEY = "system/gpu_utilization"
GPU_DEVICE_KEYS = "system/gpu%/utilization_percent"  # LIKE pattern: system/gpu0/utilization_percent, ...
RSS_KEY = "system/process_rss_mb"
MEMORY_KEY = "system/memory_used_mb"


# ---------------------------------------------------------------- validation


def _figure(value: Any, field: str, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"{field} must be a number", field)
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= maximum:
        raise Invalid(f"{field} must be a number from 0 to {maximum:g}", field)
    return number


def _check_changes(changes: Mapping[str, Any], allowed: tuple[str, ...], maximum: float,
                   nullable: bool) -> dict[str, float | None]:
    if not isinstance(changes, Mapping) or not changes:
        raise Invalid(f"send at least one of {', '.join(allowed)}", None)
    checked: dict[str, float | None] = {}
    for name, value in changes.items():
        if name not in allowed:
            raise Invalid(f"unknown field {str(name)[:50]!r}; expected {', '.join(allowed)}", str(name)[:100])
        if value is None and nullable:
            checked[name] = None
        else:
            checked[name] = _figure(value, name, maximum)
    return checked


# ---------------------------------------------------------------- the per-run figures, in SQL


def _declared(dialect: str, key: str) -> ColumnElement:
    """environment[key] as a float when it is a JSON number in 0..MAX_DECLARED, else NULL (never an error)."""
    if dialect == "postgresql":
        is_number = func.json_typeof(Run.environment[key]) == "number"
        number = cast(Run.environment[key].as_string(), Numeric)
    else:
        is_number = func.json_type(Run.environment, f"$.{key}").in_(("integer", "real"))
        number = func.json_extract(Run.environment, f"$.{key}")
    in_range = case((and_(number >= 0, number <= MAX_DECLARED), cast(number, Float)), else_=None)
    return case((is_number, in_range), else_=None)  # nested CASE: the cast runs only on numbers


def _system_metrics(run_pks: Select) -> Any:
    """Per run: mean CPU %, mean whole-GPU %, sum of per-device mean GPU %, peak RSS and used memory in MB."""
    value = MetricPoint.value
    percent = case((and_(value >= 0, value <= MAX_PERCENT), value), else_=None)  # NaN and junk drop out
    megabytes = case((and_(value >= 0, value <= MAX_MEMORY_MB), value), else_=None)
    per_series = (select(MetricSeries.run_pk.label("run_pk"), MetricSeries.key.label("key"),
                         func.avg(percent).label("mean_pct"), func.max(megabytes).label("max_mb"))
                  .join(MetricPoint, MetricPoint.series_id == MetricSeries.id)
                  .where(MetricSeries.run_pk.in_(run_pks),
                         or_(MetricSeries.key.in_((CPU_KEY, GPU_KEY, RSS_KEY, MEMORY_KEY)),
                             MetricSeries.key.like(GPU_DEVICE_KEYS)))
                  .group_by(MetricSeries.id, MetricSeries.run_pk, MetricSeries.key)).subquery()
    key = per_series.c.key
    return (select(per_series.c.run_pk,
                   func.max(case((key == CPU_KEY, per_series.c.mean_pct))).label("cpu_pct"),
                   func.max(case((key == GPU_KEY, per_series.c.mean_pct))).label("gpu_pct"),
                   func.sum(case((key.like(GPU_DEVICE_KEYS), per_series.c.mean_pct))).label("gpu_device_pct"),
                   func.max(case((key == RSS_KEY, per_series.c.max_mb))).label("rss_mb"),
                   func.max(case((key == MEMORY_KEY, per_series.c.max_mb))).label("memory_mb"))
            .group_by(per_series.c.run_pk)).subquery()


def _first(*options: tuple[ColumnElement, str]) -> tuple[ColumnElement, ColumnElement]:
    """(the first non-null value, the name of its source) of (value, source) pairs."""
    value = func.coalesce(*(v for v, _ in options))
    source = case(*((v.is_not(None), literal(name)) for v, name in options), else_=None)
    return value, source


def run_figures(session: Session, scope: ColumnElement, now: int) -> Any:
    """A subquery with one row per visible-by-scope, not deleted run: figures, their sources, rates and cost."""
    dialect = session.get_bind().dialect.name
    in_scope = and_(scope, Run.deleted_at.is_(None), Experiment.deleted_at.is_(None))
    run_pks = (select(Run.pk).join(Experiment, Experiment.id == Run.experiment_id)
               .join(Project, Project.id == Experiment.project_id).where(in_scope))
    system = _system_metrics(run_pks)

    end = case((Run.end_time.is_not(None), Run.end_time), (Run.status == "RUNNING", literal(now)),
               else_=Run.start_time)
    hours = case((end > Run.start_time, cast(end - Run.start_time, Float) / MS_PER_HOUR), else_=0.0)
    cpu_count, gpu_count, memory_gb = (_declared(dialect, k) for k in ("cpu_count", "gpu_count", "memory_gb"))

    cpu_hours, cpu_source = _first(
        (RunResources.cpu_hours, "logged"),
        (system.c.cpu_pct / 100.0 * func.coalesce(cpu_count, 1.0) * hours, "system_metrics"),
        (cpu_count * hours, "declared"))
    gpu_hours, gpu_source = _first(
        (RunResources.gpu_hours, "logged"),
        (func.coalesce(system.c.gpu_device_pct, system.c.gpu_pct * func.coalesce(gpu_count, 1.0))
         / 100.0 * hours, "system_metrics"),
        (gpu_count * hours, "declared"))
    peak_memory, memory_source = _first(
        (RunResources.peak_memory_gb, "logged"),
        (func.coalesce(system.c.rss_mb, system.c.memory_mb) / 1024.0, "system_metrics"),
        (memory_gb, "declared"))
    rates = [func.coalesce(getattr(TeamRates, name), DEFAULT_RATES[name]) for name in RATE_NAMES]

    base = (select(Run.pk.label("run_pk"), Run.id.label("run_id"), Run.status.label("status"),
                   Run.experiment_id.label("experiment_id"), Experiment.project_id.label("project_id"),
                   Project.team_id.label("team_id"), hours.label("hours"),
                   cpu_hours.label("cpu_hours"), cpu_source.label("cpu_source"),
                   gpu_hours.label("gpu_hours"), gpu_source.label("gpu_source"),
                   peak_memory.label("peak_memory_gb"), memory_source.label("memory_source"),
                   rates[0].label("cpu_rate"), rates[1].label("gpu_rate"), rates[2].label("memory_rate"))
            .join(Experiment, Experiment.id == Run.experiment_id)
            .join(Project, Project.id == Experiment.project_id)
            .outerjoin(RunResources, RunResources.run_pk == Run.pk)
            .outerjoin(system, system.c.run_pk == Run.pk)
            .outerjoin(TeamRates, TeamRates.team_id == Project.team_id)
            .where(in_scope)).subquery()
    memory_gb_hours = base.c.peak_memory_gb * base.c.hours
    return select(*base.c, memory_gb_hours.label("memory_gb_hours"),
                  (func.coalesce(base.c.cpu_hours, 0.0) * base.c.cpu_rate).label("cpu_cost"),
                  (func.coalesce(base.c.gpu_hours, 0.0) * base.c.gpu_rate).label("gpu_cost"),
                  (func.coalesce(memory_gb_hours, 0.0) * base.c.memory_rate).label("memory_cost")).subquery()


# ---------------------------------------------------------------- answers


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def _costs(cpu: float | None, gpu: float | None, memory: float | None) -> dict:
    parts = [float(cpu or 0.0), float(gpu or 0.0), float(memory or 0.0)]
    return {"cpu": _round(parts[0]), "gpu": _round(parts[1]), "memory": _round(parts[2]),
            "total": _round(sum(parts)), "currency": CURRENCY}


def _rates_dict(cpu: float, gpu: float, memory: float) -> dict:
    return {"cpu_per_hour": float(cpu), "gpu_per_hour": float(gpu), "memory_per_gb_hour": float(memory),
            "currency": CURRENCY}


def _team_rates(session: Session, team_id: str) -> dict:
    row = session.get(TeamRates, team_id)
    values = [getattr(row, name) if row is not None else DEFAULT_RATES[name] for name in RATE_NAMES]
    return {**_rates_dict(*values), "custom": row is not None}


def _run_answer(row: Any, now: int) -> dict:
    return {"run_id": row.run_id, "experiment_id": row.experiment_id, "project_id": row.project_id,
            "status": row.status, "duration_hours": _round(row.hours),
            "running": row.status == "RUNNING",
            "resources": {"cpu_hours": _round(row.cpu_hours), "gpu_hours": _round(row.gpu_hours),
                          "peak_memory_gb": _round(row.peak_memory_gb),
                          "memory_gb_hours": _round(row.memory_gb_hours)},
            "sources": {"cpu_hours": row.cpu_source, "gpu_hours": row.gpu_source,
                        "peak_memory_gb": row.memory_source},
            "rates": _rates_dict(row.cpu_rate, row.gpu_rate, row.memory_rate),
            "cost": _costs(row.cpu_cost, row.gpu_cost, row.memory_cost), "as_of": validation.iso(now)}


def _one_run(session: Session, run: Run, now: int) -> Any:
    figures = run_figures(session, Run.pk == run.pk, now)
    return session.execute(select(figures)).one()


def _totals(figures: Any) -> list:
    c = figures.c
    return [func.count(c.run_pk).label("runs"), func.sum(c.hours).label("hours"),
            func.sum(c.cpu_hours).label("cpu_hours"), func.sum(c.gpu_hours).label("gpu_hours"),
            func.sum(c.memory_gb_hours).label("memory_gb_hours"), func.max(c.peak_memory_gb).label("peak_memory_gb"),
            func.sum(c.cpu_cost).label("cpu_cost"), func.sum(c.gpu_cost).label("gpu_cost"),
            func.sum(c.memory_cost).label("memory_cost")]


def _totals_dict(row: Any) -> dict:
    return {"runs": int(row.runs or 0), "run_hours": _round(row.hours or 0.0),
            "resources": {"cpu_hours": _round(row.cpu_hours or 0.0), "gpu_hours": _round(row.gpu_hours or 0.0),
                          "memory_gb_hours": _round(row.memory_gb_hours or 0.0),
                          "peak_memory_gb": _round(row.peak_memory_gb)},
            "cost": _costs(row.cpu_cost, row.gpu_cost, row.memory_cost)}


def _aggregate(session: Session, scope: ColumnElement, now: int,
               by: type[Experiment] | type[Project] | None = None) -> tuple[dict, list[dict]]:
    """Totals over the scope and, with `by`, per experiment or project of the scope (both in SQL)."""
    figures = run_figures(session, scope, now)
    totals = session.execute(select(*_totals(figures))).one()
    breakdown: list[dict] = []
    if by is not None:
        key = figures.c.experiment_id if by is Experiment else figures.c.project_id
        rows = session.execute(select(by.id.label("id"), by.name.label("name"), *_totals(figures))
                               .join_from(figures, by, by.id == key)
                               .group_by(by.id, by.name).order_by(by.name)).all()
        breakdown = [{"id": r.id, "name": r.name, **_totals_dict(r)} for r in rows]
    return _totals_dict(totals), breakdown


def run_cost(core: Core, actor: Actor, run_id: str) -> dict:
    now = now_ms()
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        return _run_answer(_one_run(session, run, now), now)


def run_resources(core: Core, actor: Actor, run_id: str) -> dict:
    """The run's figures and where each comes from, without prices."""
    answer = run_cost(core, actor, run_id)
    return {k: answer[k] for k in ("run_id", "duration_hours", "running", "resources", "sources", "as_of")}


def log_resources(core: Core, actor: Actor, run_id: str, changes: Mapping[str, Any]) -> dict:
    """Set (or with null clear) logged figures; the others keep their values. Editors; not on a locked run."""
    checked = _check_changes(changes, FIGURES, MAX_FIGURE, nullable=True)
    with core.sessions.begin() as session:
        run = require_run(session, actor, run_id, "editor", lock=True)
        ensure_writable(run)
        row = session.get(RunResources, run.pk)
        before = {name: getattr(row, name) for name in FIGURES} if row is not None else None
        if row is None:
            row = RunResources(run_pk=run.pk)
            session.add(row)
        for name, value in checked.items():
            setattr(row, name, value)
        row.updated_by = actor.user_id
        audit.record(session, actor, "run.resources", "run", run_id, before, checked)
        experiment_id = run.experiment_id
    core.bus.bump([f"run:{run_id}", f"exp:{experiment_id}"], {"type": "run.resources", "run_id": run_id})
    return run_resources(core, actor, run_id)


def experiment_cost(core: Core, actor: Actor, experiment_id: str) -> dict:
    now = now_ms()
    with core.sessions() as session:
        experiment = require_experiment(session, actor, experiment_id)
        team_id = session.get(Project, experiment.project_id).team_id
        totals, _ = _aggregate(session, Run.experiment_id == experiment.id, now)
        return {"experiment_id": experiment.id, "project_id": experiment.project_id, **totals,
                "rates": _team_rates(session, team_id), "as_of": validation.iso(now)}


def project_cost(core: Core, actor: Actor, project_id: str) -> dict:
    now = now_ms()
    with core.sessions() as session:
        project = require_project(session, actor, project_id)
        totals, by_experiment = _aggregate(session, Experiment.project_id == project.id, now, Experiment)
        return {"project_id": project.id, **totals, "by_experiment": by_experiment,
                "rates": _team_rates(session, project.team_id), "as_of": validation.iso(now)}


def _team(session: Session, actor: Actor, team: str, need_admin: bool = False) -> Team:
    """The team by name (or id) if the actor is a member or a site admin; 404 otherwise (no existence leak)."""
    row = None
    if isinstance(team, str) and 0 < len(team) <= 100:
        row = session.execute(select(Team).where(Team.name == team)).scalar_one_or_none()
        if row is None and len(team) == 36:
            row = session.get(Team, team)
    if row is None or not (actor.is_admin or row.id in actor.team_roles):
        raise NotFound(f"team {str(team)[:100]!r} not found", "team")
    if need_admin and not actor.is_admin and actor.team_roles.get(row.id) != "admin":
        raise Forbidden(f"only admins of team {row.name!r} can change its rates")
    return row


def team_cost(core: Core, actor: Actor, team: str) -> dict:
    now = now_ms()
    with core.sessions() as session:
        row = _team(session, actor, team)
        totals, by_project = _aggregate(session, Project.team_id == row.id, now, Project)
        return {"team": row.name, "team_id": row.id, **totals, "by_project": by_project,
                "rates": _team_rates(session, row.id), "as_of": validation.iso(now)}


def get_rates(core: Core, actor: Actor, team: str) -> dict:
    with core.sessions() as session:
        row = _team(session, actor, team)
        return {"team": row.name, **_team_rates(session, row.id), "defaults": dict(DEFAULT_RATES)}


def set_rates(core: Core, actor: Actor, team: str, changes: Mapping[str, Any]) -> dict:
    """Team admins (and site admins) set any of the three rates; the others keep their current values."""
    checked = _check_changes(changes, RATE_NAMES, MAX_RATE, nullable=False)
    with core.sessions.begin() as session:
        row = _team(session, actor, team, need_admin=True)
        rates = session.get(TeamRates, row.id)
        before = {name: getattr(rates, name) for name in RATE_NAMES} if rates is not None else None
        if rates is None:
            rates = TeamRates(team_id=row.id, **DEFAULT_RATES)
            session.add(rates)
        for name, value in checked.items():
            setattr(rates, name, value)
        rates.updated_by = actor.user_id
        audit.record(session, actor, "team.rates", "team", row.id, before,
                     {name: getattr(rates, name) for name in RATE_NAMES})
        name = row.name
    return get_rates(core, actor, name)
