"""Safety gates judged at read time: one SQL read of an experiment's runs and metric summaries, verdicts per run.

Nothing is stored: every read judges the current metric_series summaries, so a verdict changes the moment a
new value arrives. An experiment's criteria are its own validation_criteria or, when it has none, those of
the template it names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from db.models import Experiment, MetricSeries, Param, Run
from services import gates, templates
from services.access import require_experiment, require_run
from services.context import Actor, Core
from services.errors import Invalid
from services.metrics import number


class Summary(NamedTuple):
    last: float | None
    low: float | None
    high: float | None
    step: int
    ts: int


@dataclass
class RunRow:
    pk: int
    id: str
    name: str
    status: str
    start_time: int
    metrics: dict[str, Summary] = field(default_factory=dict)
    params: set[str] = field(default_factory=set)


@dataclass
class GateContext:
    """What judging an experiment's runs needs: its criteria, the template's expectations."""

    experiment: Experiment
    criteria: dict[str, gates.Criterion]
    criteria_source: str | None  # "experiment" | "template" | None
    template: dict | None
    expected_metrics: list[str]
    required_params: list[str]

    @property
    def keys(self) -> set[str]:
        return set(self.criteria) | set(self.expected_metrics)


def check_summary(summary: str) -> str:
    if summary not in gates.SUMMARIES:
        raise Invalid(f"summary must be one of {', '.join(gates.SUMMARIES)}", "summary")
    return summary


def context(session: Session, exp: Experiment) -> GateContext:
    template = templates.find(session, exp.template_id)
    own = gates.stored(exp.validation_criteria)
    if own or template is None:
        criteria, source = own, "experiment" if own else None
    else:
        criteria = gates.stored(template["validation_criteria"])
        source = "template" if criteria else None
    metrics = (exp.settings or {}).get("metrics") or (template or {}).get("metrics") or []
    required = (template or {}).get("parameters", {}).get("required", [])
    return GateContext(exp, criteria, source, template, [m for m in metrics if isinstance(m, str)], required)


def read_runs(session: Session, experiment_id: str, keys: Iterable[str] | None, params: Iterable[str] = (),
              run_pk: int | None = None) -> list[RunRow]:
    """Live runs (newest first) with the summaries of `keys` (None: every key): one query, plus one for
    params when some are asked for."""
    joined = and_(MetricSeries.run_pk == Run.pk, MetricSeries.count > 0)
    if keys is not None:
        joined = and_(joined, MetricSeries.key.in_(sorted(set(keys))))
    stmt = (select(Run.pk, Run.id, Run.name, Run.status, Run.start_time, MetricSeries.key, MetricSeries.last_value,
                   MetricSeries.min_value, MetricSeries.max_value, MetricSeries.last_step, MetricSeries.last_ts)
            .outerjoin(MetricSeries, joined)
            .where(Run.experiment_id == experiment_id, Run.deleted_at.is_(None)))
    if run_pk is not None:
        stmt = stmt.where(Run.pk == run_pk)
    rows: dict[int, RunRow] = {}
    for pk, rid, name, status, start, key, last, low, high, step, ts in session.execute(
            stmt.order_by(Run.start_time.desc(), Run.pk.desc())):
        row = rows.setdefault(pk, RunRow(pk, rid, name, status, start))
        if key is not None:
            row.metrics[key] = Summary(number(last), number(low), number(high), step, ts)
    wanted = sorted(set(params))
    if wanted and rows:
        pstmt = select(Param.run_pk, Param.key).join(Run, Run.pk == Param.run_pk).where(
            Run.experiment_id == experiment_id, Run.deleted_at.is_(None), Param.key.in_(wanted))
        if run_pk is not None:
            pstmt = pstmt.where(Param.run_pk == run_pk)
        for pk, key in session.execute(pstmt):
            if pk in rows:
                rows[pk].params.add(key)
    return list(rows.values())


def latest_values(session: Session, experiment_id: str, keys: Iterable[str] | None) -> list[tuple]:
    """Per metric key (None: every key), the live run that logged it most recently (by timestamp, then step;
    ties to the newest run): (key, run id, run name, last value, step, timestamp), by key. Ranked in SQL, so an
    experiment of 10,000 runs × 10 metrics never reaches Python as 100,000 rows."""
    rank = func.row_number().over(partition_by=MetricSeries.key, order_by=(
        MetricSeries.last_ts.desc(), MetricSeries.last_step.desc(), Run.start_time.desc(), Run.pk.desc()))
    ranked = (select(MetricSeries.key, Run.id, Run.name, MetricSeries.last_value, MetricSeries.last_step,
                     MetricSeries.last_ts, rank.label("rank"))
              .join(Run, Run.pk == MetricSeries.run_pk)
              .where(Run.experiment_id == experiment_id, Run.deleted_at.is_(None), MetricSeries.count > 0))
    if keys is not None:
        ranked = ranked.where(MetricSeries.key.in_(sorted(set(keys))))
    sub = ranked.subquery()
    rows = session.execute(select(sub.c.key, sub.c.id, sub.c.name, sub.c.last_value, sub.c.last_step,
                                  sub.c.last_ts).where(sub.c.rank == 1).order_by(sub.c.key)).all()
    return [(key, rid, name, number(value), step, ts) for key, rid, name, value, step, ts in rows]


def value_of(row: RunRow, criterion: gates.Criterion, summary: str = "last") -> float | None:
    s = row.metrics.get(criterion.metric)
    return gates.pick(criterion, s.last, s.low, s.high, summary) if s is not None else None


def outcomes(ctx: GateContext, row: RunRow, summary: str = "last") -> list[gates.Outcome]:
    return [gates.judge(c, value_of(row, c, summary)) for c in ctx.criteria.values()]


def flags(ctx: GateContext, row: RunRow) -> list[dict]:
    """What the template expects and the run lacks: required parameters and listed metrics."""
    return ([{"kind": "missing_parameter", "name": p} for p in ctx.required_params if p not in row.params]
            + [{"kind": "missing_metric", "name": m} for m in ctx.expected_metrics if m not in row.metrics])


def judge_run(ctx: GateContext, row: RunRow, summary: str = "last") -> dict:
    judged = outcomes(ctx, row, summary)
    found = flags(ctx, row)
    return {"run_id": row.id, "run_name": row.name, "status": row.status, "verdict": gates.verdict(judged),
            "criteria": [o.to_dict() for o in judged], "flags": found, "flagged": bool(found)}


def counts(results: list[dict]) -> dict:
    out = {"total": len(results), gates.PASSED: 0, gates.FAILED: 0, gates.INCOMPLETE: 0, gates.NO_CRITERIA: 0,
           "flagged": 0}
    for result in results:
        out[result["verdict"]] += 1
        out["flagged"] += result["flagged"]
    return out


def _header(ctx: GateContext, summary: str) -> dict:
    return {"experiment_id": ctx.experiment.id, "criteria": {m: c.text for m, c in ctx.criteria.items()},
            "criteria_source": ctx.criteria_source, "template_id": ctx.experiment.template_id,
            "required_parameters": ctx.required_params, "expected_metrics": ctx.expected_metrics,
            "summary": summary}


def experiment_gates(core: Core, actor: Actor, experiment_id: str, summary: str = "last") -> dict:
    """Every live run's verdict on the experiment's criteria, newest run first, with counts."""
    summary = check_summary(summary)
    with core.sessions() as session:
        ctx = context(session, require_experiment(session, actor, experiment_id))
        rows = read_runs(session, experiment_id, ctx.keys, ctx.required_params)
    results = [judge_run(ctx, row, summary) for row in rows]
    return {**_header(ctx, summary), "counts": counts(results), "runs": results}


def run_gates(core: Core, actor: Actor, run_id: str, summary: str = "last") -> dict:
    """One run's pass/fail per criterion, its verdict and its template flags."""
    summary = check_summary(summary)
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        ctx = context(session, session.get(Experiment, run.experiment_id))
        rows = read_runs(session, run.experiment_id, ctx.keys, ctx.required_params, run_pk=run.pk)
    row = rows[0] if rows else RunRow(run.pk, run.id, run.name, run.status, run.start_time)
    return {**_header(ctx, summary), **judge_run(ctx, row, summary)}
