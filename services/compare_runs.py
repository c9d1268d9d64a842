"""Run comparison reads: info, params, tags, metric summaries and gate verdicts of any number of runs, few queries;
a version-keyed cache of them so the page's later callbacks need only the run ids."""
from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import noload

from db.models import Experiment, MetricSeries, Param, Project, Run, RunTag
from live.cache import cached
from services import gates, run_gates, validation
from services.access import visible_project_ids
from services.context import Actor, Core
from services.metrics import number

BLOCK = 1000  # ids per IN (...) list: far below every driver's bound-parameter limit
CACHE_TTL = 1800  # seconds a loaded comparison stays cached (the key moves with every write anyway)


def load_runs(core: Core, actor: Actor, run_ids: list[str]) -> dict:
    """{"runs": [...in the asked order], "missing": [ids not found or not visible (one answer for both)]}.

    Each run: id, name, status, experiment_id, experiment_name, project_id, project_name, start_time, params
    {key: number or text}, tags {key: text}, metrics {key: {"last", "min", "max", "count"}} and gate (its
    safety-gate verdict: passed, failed, incomplete or no_criteria). Four queries per block of ids plus one for the experiments' gates,
    never one per run.
    """
    wanted = _unique(run_ids)
    with core.sessions() as session:
        found = _load(session, actor, wanted)
    return _answer(wanted, found)


def cached_runs(core: Core, actor: Actor, run_ids: list[str]) -> dict:
    """load_runs through core.cache. Every call first asks the database which of the ids this actor may see now
    (one small query), then reads the cache under a key made of those ids and their experiments' live versions:
    any write to a run of the comparison (metric, param, tag, rename, delete, gate criteria) moves the key, and
    a user only ever gets runs they can see right now."""
    wanted = _unique(run_ids)
    with core.sessions() as session:
        visible = _visible(session, actor, wanted)
    if not visible:
        return _answer(wanted, {})
    experiments = sorted(set(visible.values()))
    versions = core.bus.versions([f"exp:{exp_id}" for exp_id in experiments])  # read before loading: never stale
    digest = hashlib.sha256("\n".join([*sorted(visible), *(f"{e}={v}" for e, v in zip(experiments, versions))])
                            .encode()).hexdigest()

    def compute() -> dict[str, dict]:
        with core.sessions() as session:
            return _load(session, actor, list(visible))

    found = cached(core.cache, f"compare-runs:{digest}", compute, ttl=CACHE_TTL)
    return _answer(wanted, {i: run for i, run in found.items() if i in visible})


def _unique(run_ids: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in run_ids if isinstance(i, str) and i))


def _answer(wanted: list[str], found: dict[str, dict]) -> dict:
    return {"runs": [found[i] for i in wanted if i in found], "missing": [i for i in wanted if i not in found]}


def _visible_filter(stmt, actor: Actor):  # noqa: ANN001, ANN202
    stmt = (stmt.join(Experiment, Experiment.id == Run.experiment_id)
            .where(Run.deleted_at.is_(None), Experiment.deleted_at.is_(None)))
    if not actor.is_admin:
        stmt = stmt.where(Experiment.project_id.in_(visible_project_ids(actor)))
    return stmt


def _visible(session, actor: Actor, wanted: list[str]) -> dict[str, str]:  # noqa: ANN001
    """{run id: experiment id} of the live runs among `wanted` this actor may see."""
    out: dict[str, str] = {}
    for start in range(0, len(wanted), BLOCK):
        stmt = _visible_filter(select(Run.id, Run.experiment_id), actor).where(Run.id.in_(wanted[start:start + BLOCK]))
        out.update(session.execute(stmt).tuples().all())
    return out


def _load(session, actor: Actor, wanted: list[str]) -> dict[str, dict]:  # noqa: ANN001
    found: dict[str, dict] = {}
    for start in range(0, len(wanted), BLOCK):
        by_pk = _runs(session, actor, wanted[start:start + BLOCK])
        _add_params(session, by_pk)
        _add_metrics(session, by_pk)
        _add_tags(session, by_pk)
        found.update({run["id"]: run for run in by_pk.values()})
    _add_gates(session, list(found.values()))
    return found


def _runs(session, actor: Actor, block: list[str]) -> dict[int, dict]:  # noqa: ANN001
    """Query 1: the visible live runs with their experiment's name (one row per run)."""
    stmt = _visible_filter(select(Run.pk, Run.id, Run.name, Run.status, Run.start_time, Run.experiment_id,
                                  Experiment.name, Project.id, Project.name), actor) \
        .join(Project, Project.id == Experiment.project_id).where(Run.id.in_(block))
    return {pk: {"id": rid, "name": name, "status": status, "experiment_id": exp_id, "experiment_name": exp_name,
                 "project_id": project_id, "project_name": project_name,
                 "start_time": validation.iso(start), "params": {}, "tags": {}, "metrics": {},
                 "gate": gates.NO_CRITERIA}
            for pk, rid, name, status, start, exp_id, exp_name, project_id, project_name
            in session.execute(stmt).tuples()}


def _add_params(session, by_pk: dict[int, dict]) -> None:  # noqa: ANN001
    """Query 2: every param of these runs, its numeric copy when it has one."""
    if not by_pk:
        return
    stmt = select(Param.run_pk, Param.key, Param.value, Param.value_num).where(Param.run_pk.in_(list(by_pk)))
    for pk, key, text, num in session.execute(stmt).tuples():
        by_pk[pk]["params"][key] = num if num is not None else text


def _add_metrics(session, by_pk: dict[int, dict]) -> None:  # noqa: ANN001
    """Query 3: every metric summary of these runs (the per-run, per-key summary table, never raw points)."""
    if not by_pk:
        return
    stmt = (select(MetricSeries.run_pk, MetricSeries.key, MetricSeries.last_value, MetricSeries.min_value,
                   MetricSeries.max_value, MetricSeries.count)
            .where(MetricSeries.run_pk.in_(list(by_pk)), MetricSeries.count > 0))
    for pk, key, last, low, high, count in session.execute(stmt).tuples():
        by_pk[pk]["metrics"][key] = {"last": number(last), "min": number(low), "max": number(high), "count": count}


def _add_tags(session, by_pk: dict[int, dict]) -> None:  # noqa: ANN001
    """Query 4: every tag of these runs."""
    if not by_pk:
        return
    for pk, key, value in session.execute(select(RunTag.run_pk, RunTag.key, RunTag.value)
                                          .where(RunTag.run_pk.in_(list(by_pk)))).tuples():
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
