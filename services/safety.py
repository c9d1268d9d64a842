"""Healthcare safety panel data (run and experiment), the confusion matrix, the hypothesis verdict, the dashboard.

Thresholds: the experiment's criterion for a metric when it has one, else templates.SAFETY_DEFAULTS.
Every read is one query of metric summaries for the whole experiment (services.run_gates.read_runs).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.models import RUN_STATUSES, Artifact, Experiment, Run
from services import gates, run_gates, stats, validation
from live.cache import cached
from services.access import require_experiment, require_run
from services.context import Actor, Core
from services.errors import Invalid
from services.templates import SAFETY_DEFAULTS
from storage import StorageError

CELLS = ("tp", "fp", "fn", "tn")
CELL_PREFIXES = ("confusion_matrix/", "confusion_matrix.", "confusion_matrix_", "")
CELL_KEYS = [prefix + cell for prefix in CELL_PREFIXES for cell in CELLS]
MAX_MATRIX_BYTES = 1 << 20
MAX_CLASSES = 100
UNIT = (0.0, 1.0)  # every healthcare and safety metric of the seed is a rate or score in [0, 1]
_TEXT_CRITERION = re.compile(r"(>=|<=|>|<|≥|≤)\s*(\d+(?:\.\d+)?)\s*(%?)\s+([A-Za-z_][\w.\-/]*)")


# ---------------------------------------------------------------- thresholds and lights

def thresholds(ctx: run_gates.GateContext) -> dict[str, tuple[str, gates.Criterion, str]]:
    """metric → (group, criterion, source) for the seed's healthcare and safety metrics."""
    out = {}
    for metric, (group, default) in SAFETY_DEFAULTS.items():
        own = ctx.criteria.get(metric)
        out[metric] = (group, own, "criteria") if own else (group, gates.parse(metric, default), "default")
    return out


def _metric_panel(limits: dict, row: run_gates.RunRow) -> list[dict]:
    panel = []
    for metric, (group, criterion, source) in limits.items():
        summary = row.metrics.get(metric)
        value = summary.last if summary else None
        outcome = gates.judge(criterion, value)
        panel.append({"metric": metric, "group": f"{group}_metrics", "value": value, "threshold": criterion.threshold,
                      "op": criterion.op, "criterion": criterion.text, "threshold_source": source,
                      "status": gates.light(criterion, value, UNIT), "margin": outcome.margin,
                      "step": summary.step if summary else None})
    return panel


def _distribution(limits: dict, rows: list[run_gates.RunRow]) -> dict:
    out = {}
    for metric, (_group, criterion, _source) in limits.items():
        values = [r.metrics[metric].last for r in rows if metric in r.metrics]
        described = stats.describe(values)
        lights = [gates.light(criterion, value, UNIT) for value in values]
        lights += [gates.light(criterion, None, UNIT)] * (len(rows) - len(values))  # runs without the metric
        out[metric] = {"n": described["n"], "min": described["min"], "median": described["median"],
                       "max": described["max"], "mean": described["mean"], "threshold": criterion.threshold,
                       "criterion": criterion.text, "statuses": {c: lights.count(c) for c in gates.LIGHTS}}
    return out


# ---------------------------------------------------------------- confusion matrix

def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else stats.num(a / b)


def from_cells(cells: dict[str, float | None], source: str) -> dict:
    """Binary matrix in scikit-learn's layout (rows actual, columns predicted, labels negative then positive)."""
    tp, fp, fn, tn = (cells.get(c) for c in CELLS)
    complete = None not in (tp, fp, fn, tn)
    total = tp + fp + fn + tn if complete else None
    return {"source": source, "labels": ["negative", "positive"], "cells": {c: cells.get(c) for c in CELLS},
            "matrix": [[tn, fp], [fn, tp]] if complete else None,
            "derived": {"sensitivity": _ratio(tp, None if tp is None or fn is None else tp + fn),
                        "specificity": _ratio(tn, None if tn is None or fp is None else tn + fp),
                        "precision": _ratio(tp, None if tp is None or fp is None else tp + fp),
                        "miss_rate": _ratio(fn, None if tp is None or fn is None else tp + fn),
                        "false_alarm_rate": _ratio(fp, None if tn is None or fp is None else tn + fp),
                        "accuracy": _ratio(None if not complete else tp + tn, total), "total": total}}


def _cells_from_metrics(row: run_gates.RunRow) -> dict | None:
    cells = {}
    for cell in CELLS:
        for prefix in CELL_PREFIXES:
            if prefix + cell in row.metrics and row.metrics[prefix + cell].last is not None:
                cells[cell] = row.metrics[prefix + cell].last
                break
    return from_cells(cells, "metrics") if cells else None


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def parse_matrix(data: Any, source: str) -> dict | None:
    """{"tp", "fp", "fn", "tn"}, {"matrix": [[...]], "labels": [...]} or a bare square list of lists."""
    if isinstance(data, dict) and all(_number(data.get(c)) for c in CELLS):
        return from_cells({c: float(data[c]) for c in CELLS}, source)
    matrix = data.get("matrix", data.get("confusion_matrix")) if isinstance(data, dict) else data
    k = len(matrix) if isinstance(matrix, list) else 0
    if not 1 <= k <= MAX_CLASSES or not all(isinstance(r, list) and len(r) == k and all(map(_number, r))
                                            for r in matrix):
        return None
    labels = data.get("labels") if isinstance(data, dict) else None
    labels = labels if isinstance(labels, list) and len(labels) == k and all(isinstance(x, str) for x in labels) \
        else [str(i) for i in range(k)]
    if k == 2:  # scikit-learn's binary layout [[tn, fp], [fn, tp]]
        return {**from_cells({"tn": matrix[0][0], "fp": matrix[0][1], "fn": matrix[1][0], "tp": matrix[1][1]},
                             source), "labels": labels}
    return {"source": source, "labels": labels, "matrix": matrix, "cells": None, "derived": None}


def _artifact_matrix(core: Core, session: Session, run: Run) -> dict | None:
    art = session.execute(select(Artifact).where(
        Artifact.run_pk == run.pk, or_(Artifact.type == "confusion_matrix", Artifact.name.like("%confusion_matrix%")))
        .order_by(Artifact.created_at.desc()).limit(1)).scalar_one_or_none()
    if art is None:
        return None
    info = {"artifact_id": art.id, "artifact_name": art.name}
    found = parse_matrix(art.meta or {}, "artifact_metadata")
    if found is None and art.stored and (art.size_bytes or 0) <= MAX_MATRIX_BYTES:
        try:
            raw = b"".join(core.store.open(f"{run.experiment_id}/{run.id}/{art.name}"))[:MAX_MATRIX_BYTES + 1]
            found = parse_matrix(json.loads(raw), "artifact")
        except (StorageError, ValueError, RecursionError):
            found = None
    return {**found, **info} if found else {"source": "artifact", **info, "matrix": None,
                                           "error": "the artifact holds no readable confusion matrix JSON"}


# ---------------------------------------------------------------- panels

def run_safety(core: Core, actor: Actor, run_id: str) -> dict:
    """The run's healthcare and safety metrics with thresholds and lights, its confusion matrix, and the
    experiment's distribution of each metric across runs."""
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        ctx = run_gates.context(session, session.get(Experiment, run.experiment_id))
        rows = run_gates.read_runs(session, run.experiment_id, [*SAFETY_DEFAULTS, *ctx.criteria, *CELL_KEYS])
        row = next((r for r in rows if r.pk == run.pk), run_gates.RunRow(run.pk, run.id, run.name, run.status, 0))
        limits = thresholds(ctx)
        matrix = _cells_from_metrics(row) or _artifact_matrix(core, session, run)
    panel = _metric_panel(limits, row)
    lights = [m["status"] for m in panel]
    return {"run_id": run.id, "run_name": row.name, "experiment_id": run.experiment_id, "status": row.status,
            "overall": gates.worst_light(lights), "counts": {c: lights.count(c) for c in gates.LIGHTS},
            "metrics": panel, "confusion_matrix": matrix,
            "experiment": {"run_count": len(rows), "distribution": _distribution(limits, rows)}}


def experiment_safety(core: Core, actor: Actor, experiment_id: str) -> dict:
    """Per safety metric min/median/max across the live runs, and each run's lights."""
    with core.sessions() as session:
        ctx = run_gates.context(session, require_experiment(session, actor, experiment_id))
        rows = run_gates.read_runs(session, experiment_id, [*SAFETY_DEFAULTS, *ctx.criteria])
    limits = thresholds(ctx)
    runs = []
    for row in rows:
        lights = {m["metric"]: m["status"] for m in _metric_panel(limits, row)}
        runs.append({"run_id": row.id, "run_name": row.name, "status": row.status,
                     "overall": gates.worst_light(lights.values()), "lights": lights})
    return {"experiment_id": experiment_id, "run_count": len(rows), "distribution": _distribution(limits, rows),
            "runs": runs}


# ---------------------------------------------------------------- hypothesis

def criterion_from_text(text: str) -> dict | None:
    """The seed's "TF-IDF + MultinomialNB will achieve >95% accuracy" → accuracy > 0.95 (percent → fraction)."""
    match = _TEXT_CRITERION.search(text or "")
    if match is None:
        return None
    op = {"≥": ">=", "≤": "<="}.get(match[1], match[1])
    threshold = float(match[2]) / (100 if match[3] else 1)
    return {"metric": match[4].rstrip(".-/"), "op": op, "threshold": threshold, "summary": "last"}


def _hypothesis_criterion(exp: Experiment) -> tuple[dict | None, str | None]:
    stored = (exp.settings or {}).get("hypothesis_criterion")
    if isinstance(stored, dict):
        return stored, "settings"
    parsed = criterion_from_text(exp.hypothesis)
    return (parsed, "hypothesis_text") if parsed else (None, None)


def _verdict(exp: Experiment, rows: list[run_gates.RunRow], spec: dict | None, source: str | None) -> dict:
    base = {"experiment_id": exp.id, "hypothesis": exp.hypothesis, "source": source}
    if spec is None:
        return {**base, "verdict": gates.INCONCLUSIVE, "criterion": None, "best_run": None, "group": None,
                "reason": 'no hypothesis criterion: PUT /api/v1/experiments/{id}/hypothesis '
                          '{"metric": "accuracy", "op": ">=", "threshold": 0.95}'}
    try:
        criterion = gates.from_parts(spec.get("metric"), spec.get("op"), spec.get("threshold"), "hypothesis")
    except Invalid as exc:  # a hand-edited setting or an odd hypothesis text: say so instead of failing the read
        return {**base, "verdict": gates.INCONCLUSIVE, "criterion": None, "best_run": None, "group": None,
                "reason": f"the hypothesis criterion is not usable: {exc.message}"}
    summary = spec.get("summary") if spec.get("summary") in gates.SUMMARIES else "last"
    names = {r.id: r.name for r in rows}
    result = gates.judge_hypothesis(criterion, [(r.id, run_gates.value_of(r, criterion, summary)) for r in rows])
    if result["best_run"]:
        result["best_run"]["run_name"] = names[result["best_run"]["run_id"]]
    return {**base, **result, "summary": summary}


def hypothesis(core: Core, actor: Actor, experiment_id: str) -> dict:
    """supported / not_supported / inconclusive from the best run and the runs' 95% CI (gates.judge_hypothesis)."""
    with core.sessions() as session:
        exp = require_experiment(session, actor, experiment_id)
        spec, source = _hypothesis_criterion(exp)
        rows = run_gates.read_runs(session, experiment_id, [str(spec.get("metric"))] if spec else [])
    return _verdict(exp, rows, spec, source)


# ---------------------------------------------------------------- dashboard

def _latest(session: Session, experiment_id: str, keys: list[str] | None) -> dict:
    """Per metric, the most recently logged value across runs (by timestamp, then step)."""
    return {key: {"run_id": rid, "run_name": name, "value": value, "step": step, "timestamp": validation.iso(ts)}
            for key, rid, name, value, step, ts in run_gates.latest_values(session, experiment_id, keys)}


def _read_gated(session: Session, exp: Experiment, extra: tuple[str, ...] = ()) -> tuple:
    """(gate context, hypothesis criterion, its source, metric keys read, live runs with those summaries): the
    gate criteria's and the hypothesis' metrics, plus `extra`."""
    ctx = run_gates.context(session, exp)
    spec, source = _hypothesis_criterion(exp)
    keys = sorted({*ctx.keys, *([str(spec.get("metric"))] if spec else []), *extra})
    return ctx, spec, source, keys, run_gates.read_runs(session, exp.id, keys, ctx.required_params)


def dashboard(core: Core, actor: Actor, experiment_id: str) -> dict:
    """The seed's live experiment dashboard: runs by status, best run per criterion, latest metric values,
    gate counts and the hypothesis verdict, from one read of the experiment's metric summaries."""
    with core.sessions() as session:
        exp = require_experiment(session, actor, experiment_id)
        ctx, spec, source, keys, rows = _read_gated(session, exp)
        latest = _latest(session, experiment_id, keys or None)  # no criteria: every metric's latest value
        version = core.bus.version(f"exp:{experiment_id}")
    results = [run_gates.judge_run(ctx, row) for row in rows]
    by_status = {status: 0 for status in RUN_STATUSES}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    best_runs = {}
    for metric, criterion in ctx.criteria.items():
        top = gates.best(criterion, [(r.id, run_gates.value_of(r, criterion)) for r in rows])
        row = next(r for r in rows if r.id == top[0]) if top else None
        best_runs[metric] = {"criterion": criterion.text, "run_id": top[0] if top else None,
                             "run_name": row.name if row else None, "value": top[1] if top else None,
                             "passed": gates.passes(criterion, top[1]) if top else None}
    return {"experiment": {"id": exp.id, "name": exp.name, "status": exp.status, "hypothesis": exp.hypothesis,
                           "type": exp.type, "domain": exp.domain, "template_id": exp.template_id,
                           "validation_criteria": {m: c.text for m, c in ctx.criteria.items()},
                           "criteria_source": ctx.criteria_source, "metrics": ctx.expected_metrics},
            "version": version, "runs": {"total": len(rows), "by_status": by_status},
            "best_runs": best_runs, "latest": latest,
            "gates": {"counts": run_gates.counts(results),
                      "runs": [{k: r[k] for k in ("run_id", "run_name", "status", "verdict", "flagged")}
                               for r in results]},
            "hypothesis": _verdict(exp, rows, spec, source)}


def experiment_card(core: Core, actor: Actor, experiment_id: str) -> dict:
    """What the experiment page's summary card shows (gate counts, hypothesis verdict, safety distribution),
    computed once per experiment version and shared by every viewer; access is checked on every call."""
    with core.sessions() as session:
        require_experiment(session, actor, experiment_id)
    version = core.bus.version(f"exp:{experiment_id}")  # read first: a write meanwhile moves past it

    def compute() -> dict:  # dashboard()'s gate counts and verdict, experiment_safety()'s distribution: one read
        with core.sessions() as session:
            exp = require_experiment(session, actor, experiment_id)
            ctx, spec, source, _, rows = _read_gated(session, exp, tuple(SAFETY_DEFAULTS))
        results = [run_gates.judge_run(ctx, row) for row in rows]
        return {"dashboard": {"gates": {"counts": run_gates.counts(results)},
                              "hypothesis": _verdict(exp, rows, spec, source)},
                "safety": {"distribution": _distribution(thresholds(ctx), rows)}}

    return cached(core.cache, f"safety-card:{experiment_id}:{version}", compute)
