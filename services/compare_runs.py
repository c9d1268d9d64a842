"""Run comparison reads: info, params, tags, metric summaries and gate verdicts of any number of runs, few queries."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import noload

from db.models import Experiment, MetricSeries, Param, Project, Run, RunTag
from services import gates, run_gates, validation
from services.access import visible_project_ids
from services.context import Actor, Core
from services.metrics import number

BLOCK = 500  # ids per IN (...) list: far below every driver's bound-parameter limit


def load_runs(core: Core, actor: Actor, run_ids: list[str]) -> dict:
    """{"runs": [...in the asked order], "missing": [ids not found or not visible (one answer for both)]}.

    Each run: id, name, status, experiment_id, experiment_name, start_time, params {key: number or text},
    tags {key: text}, metrics {key: {"last", "min", "max", "count"}} and gate (its safety-gate verdict: passed,
    failed, incomplete or no_criteria). Three queries per block of ids plus one for the experiments' gates,
    never one per run.
    """
    wanted = list(dict.fromkeys(i for i in run_ids if isinstance(i, str) and i))
    found: dict[str, dict] = {}
    with core.sessions() as session:
        for start in range(0, len(wanted), BLOCK):
            block = wanted[start:start + BLOCK]
            by_pk = _runs_with_params(session, actor, block)
            _add_metrics(session, by_pk)
            _add_tags(session, by_pk)
            found.update({run["id"]: run for run in by_pk.values()})
        _add_gates(session, list(found.values()))
    return {"runs": [found[i] for i in wanted if i in found], "missing": [i for i in wanted if i not in found]}


def _runs_with_params(session, actor: Actor, block: list[str]) -> dict[int, dict]:  # noqa: ANN001
    """Query 1: visible live runs with their experiment and params (one row per param, outer-joined)."""
    stmt = (select(Run.pk, Run.id, Run.name, Run.status, Run.start_time, Run.experiment_id, Experiment.name,
                   Param.key, Param.value, Param.value_num)
            .join(Experiment, Experiment.id == Run.experiment_id)
            .join(Project, Project.id == Experiment.project_id)
            .outerjoin(Param, Param.run_pk == Run.pk)
            .where(Run.id.in_(block), Run.deleted_at.is_(None), Experiment.deleted_at.is_(None)))
    if not actor.is_admin:
        stmt = stmt.where(Project.id.in_(visible_project_ids(actor)))
    runs: dict[int, dict] = {}
    for pk, rid, name, status, start, exp_id, exp_name, key, text, num in session.execute(stmt):
        run = runs.setdefault(pk, {"id": rid, "name": name, "status": status, "experiment_id": exp_id,
                                   "experiment_name": exp_name, "start_time": validation.iso(start),
                                   "params": {}, "tags": {}, "metrics": {}, "gate": gates.NO_CRITERIA})
        if key is not None:
            run["params"][key] = num if num is not None else text
    return runs


def _add_metrics(session, by_pk: dict[int, dict]) -> None:  # noqa: ANN001
    """Query 2: every metric summary of these runs (the per-run, per-key summary table, never raw points)."""
    if not by_pk:
        return
    stmt = (select(MetricSeries.run_pk, MetricSeries.key, MetricSeries.last_value, MetricSeries.min_value,
                   MetricSeries.max_value, MetricSeries.count)
            .where(MetricSeries.run_pk.in_(list(by_pk)), MetricSeries.count > 0))
    for pk, key, last, low, high, count in session.execute(stmt):
        by_pk[pk]["metrics"][key] = {"last": number(last), "min": number(low), "max": number(high), "count": count}


def _add_tags(session, by_pk: dict[int, dict]) -> None:  # noqa: ANN001
    """Query 3: every tag of these runs."""
    if not by_pk:
        return
    for pk, key, value in session.execute(select(RunTag.run_pk, RunTag.key, RunTag.value)
                                          .where(RunTag.run_pk.in_(list(by_pk)))):
        by_pk[pk]["tags"][key] = value


def _add_gates(session, runs: list[dict]) -> None:  # noqa: ANN001
    """One query for the runs' experiments; each run judged on its experiment's criteria from the summaries above."""
    exp_ids = sorted({run["experiment_id"] for run in runs})
    if not exp_ids:
        return
    stmt = select(Experiment).options(noload("*")).where(Experiment.id.in_(exp_ids))  # no eager tag load
    contexts = {exp.id: run_gates.context(session, exp) for exp in session.execute(stmt).scalars()}
    for run in runs:
        ctx = contexts.get(run["experiment_id"])
        if ctx is None or not ctx.criteria:
            continue
        row = run_gates.RunRow(0, run["id"], run["name"], run["status"], 0, {
            key: run_gates.Summary(m["last"], m["min"], m["max"], 0, 0) for key, m in run["metrics"].items()})
        run["gate"] = gates.verdict(run_gates.outcomes(ctx, row))
