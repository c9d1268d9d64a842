"""Project overview: the metric keys a project's runs logged and each experiment's best run by one of them."""
from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from db.models import Experiment, MetricSeries, Run
from services import validation
from services.access import require_project
from services.comparison import default_mode
from services.context import Actor, Core
from services.errors import Invalid

MAX_KEYS = 500
MODES = ("max", "min")


def _live_series(project_id: str):  # noqa: ANN202
    """Metric series of live runs in live experiments of one project (the join every query here starts from)."""
    return (select().select_from(MetricSeries).join(Run, Run.pk == MetricSeries.run_pk)
            .join(Experiment, Experiment.id == Run.experiment_id)
            .where(Experiment.project_id == project_id, Experiment.deleted_at.is_(None), Run.deleted_at.is_(None),
                   MetricSeries.count > 0))


def _keys(session: Session, project_id: str) -> list[str]:
    stmt = _live_series(project_id).add_columns(MetricSeries.key).distinct().order_by(MetricSeries.key)
    return list(session.execute(stmt.limit(MAX_KEYS)).scalars())


def _best(session: Session, project_id: str, metric: str, mode: str) -> dict[str, dict]:
    """One query: per experiment, the live run whose last value of `metric` is best (ties: the earlier run)."""
    value = MetricSeries.last_value
    order = value.desc() if mode == "max" else value.asc()
    rank = func.row_number().over(partition_by=Run.experiment_id, order_by=(order, Run.start_time, Run.pk))
    ranked = (_live_series(project_id)
              .add_columns(Run.experiment_id, Run.id.label("run_id"), Run.name.label("run_name"),
                           value.label("value"), rank.label("rank"))
              .where(MetricSeries.key == metric, value.is_not(None)))
    if session.get_bind().dialect.name == "postgresql":  # NaN from the MLflow path sorts above every number
        ranked = ranked.where(value != literal(math.nan))
    sub = ranked.subquery()
    rows = session.execute(select(sub.c.experiment_id, sub.c.run_id, sub.c.run_name, sub.c.value)
                           .where(sub.c.rank == 1))
    return {exp_id: {"run_id": run_id, "run_name": name, "value": val} for exp_id, run_id, name, val in rows}


def choose(keys: list[str], metric: Any, mode: Any) -> tuple[str | None, str | None]:
    """The metric asked for if the project has it (else the first key) and a valid mode (else its default)."""
    chosen = metric if isinstance(metric, str) and metric in keys else (keys[0] if keys else None)
    if chosen is None:
        return None, None
    return chosen, mode if mode in MODES else default_mode(chosen)


def best_by_experiment(core: Core, actor: Actor, project_id: str, metric: Any = None, mode: Any = None) -> dict:
    """{"keys", "metric", "mode", "best": {experiment id: {run_id, run_name, value}}}; an unknown or invalid
    metric/mode falls back to the first key and the metric's default direction (a stale link still opens)."""
    with core.sessions() as session:
        require_project(session, actor, project_id)
        keys = _keys(session, project_id)
        chosen, direction = choose(keys, metric, mode)
        best = _best(session, project_id, chosen, direction) if chosen else {}
    return {"keys": keys, "metric": chosen, "mode": direction, "best": best}


def best_value(core: Core, actor: Actor, project_id: str, metric: str, mode: str) -> dict[str, dict]:
    """Strict form for callers that name the metric: 400 on a bad key or mode; {} when no run logged it."""
    validation.key(metric, "metric")
    if mode not in MODES:
        raise Invalid("mode must be max or min", "mode")
    with core.sessions() as session:
        require_project(session, actor, project_id)
        return _best(session, project_id, metric, mode)
