"""Experiment comparison: per-run metric summaries in one query, statistics per metric, stored for the dashboard."""
from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Comparison, Experiment, MetricSeries, Run
from services import audit, stats, validation
from services.access import require_experiment
from services.context import Actor, Core
from services.errors import Invalid, NotFound
from services.metrics import number

MAX_EXPERIMENTS = 20
MAX_METRICS = 20
MAX_SEED = 2**32 - 1
SUMMARIES = ("last", "min", "max", "best")
MODES = {"max": "max", "maximize": "max", "min": "min", "minimize": "min"}
VISUALIZATIONS = ("parallel_coordinates", "box", "bar", "scatter", "table")
_LOWER_IS_BETTER = re.compile(r"loss|error", re.IGNORECASE)
_COLUMN = {"last": 0, "min": 1, "max": 2}


def default_mode(metric: str) -> str:
    """Which direction is better when the caller does not say: lower for losses and errors, else higher."""
    return "min" if _LOWER_IS_BETTER.search(metric) else "max"


# ---------------------------------------------------------------- request checks

def _unique_list(values: Any, field: str, least: int, most: int, what: str) -> list:
    if not isinstance(values, list):
        raise Invalid(f"{field} must be a list of {what}", field)
    if len(values) < least:
        raise Invalid(f"{field}: send at least {least} {what}", field)
    if len(values) > most:
        raise Invalid(f"{field}: at most {most} {what} per comparison", field)
    seen: set = set()
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise Invalid(f"{field}[{i}] must be a non-empty string", f"{field}[{i}]")
        if value in seen:
            raise Invalid(f"{field}[{i}]: {value[:60]!r} is listed twice", f"{field}[{i}]")
        seen.add(value)
    return list(values)


def _modes(mode: Any, metrics: list[str]) -> dict[str, str]:
    if mode is None:
        mode = {}
    if not isinstance(mode, dict):
        raise Invalid('mode must be an object such as {"accuracy": "max"}', "mode")
    chosen = {m: default_mode(m) for m in metrics}
    for key, value in mode.items():
        if key not in chosen:
            raise Invalid(f"mode.{key[:60]}: not one of the compared metrics", f"mode.{key[:60]}")
        if value not in MODES:
            raise Invalid(f"mode.{key}: must be max or min", f"mode.{key}")
        chosen[key] = MODES[value]
    return chosen


def _alpha(alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) \
            or not 0 < alpha <= 0.5:
        raise Invalid("alpha must be a number in (0, 0.5], e.g. 0.05", "alpha")
    return float(alpha)


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise Invalid(f"{field} must be one of {', '.join(allowed)}", field)
    return value


def normalise(experiment_ids: Any, metrics: Any, visualization: Any = "parallel_coordinates", test: Any = "welch",
              summary: Any = "last", mode: Any = None, alpha: Any = 0.05, seed: Any = 0) -> dict:
    """The request as stored: every field checked (400 naming it), defaults filled in."""
    ids = _unique_list(experiment_ids, "experiment_ids", 2, MAX_EXPERIMENTS, "experiment ids")
    keys = _unique_list(metrics, "metrics", 1, MAX_METRICS, "metric names")
    for i, key in enumerate(keys):
        validation.key(key, f"metrics[{i}]")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise Invalid(f"seed must be an integer from 0 to {MAX_SEED}", "seed")
    return {"experiment_ids": ids, "metrics": keys,
            "visualization": _choice(visualization, VISUALIZATIONS, "visualization"),
            "test": _choice(test, stats.TWO_GROUP_TESTS, "test"), "summary": _choice(summary, SUMMARIES, "summary"),
            "mode": _modes(mode, keys), "alpha": _alpha(alpha), "seed": seed}


# ---------------------------------------------------------------- reading

def _experiments(session: Session, actor: Actor, ids: list[str]) -> dict[str, Experiment]:
    """Each experiment the actor can see, or 404 naming the first that is missing or hidden (same answer)."""
    found = {}
    for i, eid in enumerate(ids):
        try:
            found[eid] = require_experiment(session, actor, eid)
        except NotFound:
            raise NotFound(f"experiment {eid[:60]} not found", f"experiment_ids[{i}]") from None
    return found


def _summaries(session: Session, ids: list[str], metrics: list[str]) -> list[tuple]:
    """One query: (experiment id, run id, run name, key, last, min, max) of every live run's metric series."""
    stmt = (select(Run.experiment_id, Run.id, Run.name, MetricSeries.key, MetricSeries.last_value,
                   MetricSeries.min_value, MetricSeries.max_value)
            .join(MetricSeries, MetricSeries.run_pk == Run.pk)
            .where(Run.experiment_id.in_(ids), Run.deleted_at.is_(None), MetricSeries.key.in_(metrics),
                   MetricSeries.count > 0)
            .order_by(Run.start_time, Run.pk))
    return [tuple(row) for row in session.execute(stmt)]


def _samples(rows: list[tuple], request: dict) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """metric → experiment → [(run id, value)], with the summary each metric is ranked by; NaN runs left out."""
    out = {m: {e: [] for e in request["experiment_ids"]} for m in request["metrics"]}
    for exp_id, run_id, _name, key, *values in rows:
        summary = request["summary"]
        column = _COLUMN[request["mode"][key] if summary == "best" else summary]
        value = number(values[column])
        if value is not None and math.isfinite(value):
            out[key][exp_id].append((run_id, value))
    return out


# ---------------------------------------------------------------- the use case

def _runs_table(rows: list[tuple], request: dict) -> list[dict]:
    """Per run, the summary value of every compared metric: what a parallel-coordinates plot draws."""
    runs: dict[str, dict] = {}
    for exp_id, run_id, name, key, *values in rows:
        summary = request["summary"]
        column = _COLUMN[request["mode"][key] if summary == "best" else summary]
        entry = runs.setdefault(run_id, {"run_id": run_id, "run_name": name, "experiment_id": exp_id, "values": {}})
        entry["values"][key] = number(values[column])
    order = {e: i for i, e in enumerate(request["experiment_ids"])}
    return sorted(runs.values(), key=lambda r: order[r["experiment_id"]])


def _analyse(request: dict, samples: dict, experiments: dict[str, Experiment]) -> dict:
    significance: dict[str, dict] = {}
    results = []
    per_exp: dict[str, dict] = {e: {"name": experiments[e].name, "project_id": experiments[e].project_id,
                                    "metrics": {}} for e in request["experiment_ids"]}
    for metric in request["metrics"]:
        higher = request["mode"][metric] == "max"
        groups = {e: [v for _, v in pairs] for e, pairs in samples[metric].items()}
        comparison = stats.compare_groups(groups, request["test"], request["alpha"], higher, request["seed"])
        results.append(comparison.result)
        significance[metric] = comparison
        for exp_id, pairs in samples[metric].items():
            best = (max if higher else min)(pairs, key=lambda p: p[1]) if pairs else (None, None)
            per_exp[exp_id]["metrics"][metric] = {**comparison.summaries[exp_id], "best_run_id": best[0],
                                                  "best_value": best[1]}
    stats.adjust_family(results, request["alpha"])  # Holm across the compared metrics
    out = {}
    for metric, comparison in significance.items():
        summary = request["summary"]
        out[metric] = {**comparison.to_dict(), "best_experiment": comparison.ranking[0],
                       "mode": request["mode"][metric],
                       "summary": request["mode"][metric] if summary == "best" else summary}
    return {"statistical_significance": out, "experiments": per_exp}


def compare(core: Core, actor: Actor, experiment_ids: Any, metrics: Any, visualization: Any = "parallel_coordinates",
            test: Any = "welch", summary: Any = "last", mode: Any = None, alpha: Any = 0.05, seed: Any = 0) -> dict:
    """Compare experiments on metrics (each run one sample); store the result; the seed's response shape."""
    request = normalise(experiment_ids, metrics, visualization, test, summary, mode, alpha, seed)
    with core.sessions() as session:
        experiments = _experiments(session, actor, request["experiment_ids"])
        rows = _summaries(session, request["experiment_ids"], request["metrics"])
    samples = _samples(rows, request)
    for i, metric in enumerate(request["metrics"]):
        if not any(samples[metric].values()):
            raise Invalid(f"metrics[{i}]: no run of these experiments has a value for {metric!r}", f"metrics[{i}]")
    with core.heavy_slots_or_busy():
        analysis = _analyse(request, samples, experiments)
    first = request["metrics"][0]
    best = analysis["statistical_significance"][first]["best_experiment"]
    result = {"best_experiment": best,
              "best_experiment_basis": {"metric": first, "mode": request["mode"][first],
                                        "rule": "best mean of the first metric"},
              **analysis, "runs": _runs_table(rows, request),
              "settings": {"test": request["test"], "summary": request["summary"], "alpha": request["alpha"],
                           "correction": "holm (metrics: across the compared metrics; pairwise: across the pairs)",
                           "bootstrap": {"resamples": stats.RESAMPLES, "confidence": stats.CONFIDENCE,
                                         "seed": request["seed"], "method": "percentile"},
                           "min_runs_per_experiment": stats.MIN_N},
              "visualization": request["visualization"]}
    with core.sessions.begin() as session:
        row = Comparison(created_by=actor.user_id, request=request, result=result)
        session.add(row)
        session.flush()
        audit.record(session, actor, "comparison.create", "comparison", row.id,
                     after={"experiment_ids": request["experiment_ids"], "metrics": request["metrics"]})
        reply = _reply(row)
    return reply


def _reply(row: Comparison) -> dict:
    return {"comparison_id": row.id, "created_at": validation.iso(row.created_at), "created_by": row.created_by,
            "request": row.request,
            "results": {**row.result, "visualization_url": f"/visualizations/{row.id}"}}


def get_comparison(core: Core, actor: Actor, comparison_id: str) -> dict:
    """A stored comparison, for users who can still see every experiment in it (404 otherwise, no leak)."""
    with core.sessions() as session:
        row = session.get(Comparison, comparison_id) if isinstance(comparison_id, str) else None
        if row is None:
            raise NotFound(f"comparison {comparison_id[:60]} not found", "comparison_id")
        try:
            _experiments(session, actor, list((row.request or {}).get("experiment_ids") or []))
        except NotFound:
            raise NotFound(f"comparison {comparison_id[:60]} not found", "comparison_id") from None
        return _reply(row)
