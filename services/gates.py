"""Validation criteria as safety gates (pure): parse ">= 0.95"-style strings, judge values, give verdicts.

A criterion is one comparison of a metric's value with a number: ``>=``, ``<=``, ``>``, ``<`` or ``==``.
Values within a tiny float tolerance of the threshold count as equal to it (so 0.1 + 0.2 meets "== 0.3" and
">= 0.3", and fails "> 0.3"). Nothing here does I/O; callers read the values from SQL and pass numbers in.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from scipy import stats as sps

from services import stats, validation
from services.errors import Invalid

OPERATORS = (">=", "<=", "==", ">", "<")
REL_TOL = 1e-9  # relative float tolerance for "equal to the threshold"
ABS_TOL = 1e-12  # absolute tolerance, for thresholds at or near zero
MAX_CRITERIA = 100
MAX_TEXT = 64
SUMMARIES = ("last", "min", "max", "best")
PASSED, FAILED, INCOMPLETE, NO_CRITERIA = "passed", "failed", "incomplete", "no_criteria"
SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not_supported", "inconclusive"
AMBER_BAND = 0.02  # a passing value within 2% (relative) of its threshold shows amber
LIGHTS = ("green", "amber", "red", "grey")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_CRITERION = re.compile(rf"^\s*(>=|<=|==|>|<)\s*({_NUMBER})\s*$")
HELP = 'a comparison such as ">= 0.95", "<= 0.01", "> 0.9", "< 0.1" or "== 1.0"'


@dataclass(frozen=True)
class Criterion:
    """One gate: metric op threshold, e.g. accuracy >= 0.95."""

    metric: str
    op: str
    threshold: float
    text: str  # the canonical string, e.g. ">= 0.95"

    @property
    def higher_is_better(self) -> bool | None:
        """True for >= and >, False for <= and <, None for == (closest is best)."""
        return {">=": True, ">": True, "<=": False, "<": False}.get(self.op)

    def to_dict(self) -> dict:
        return {"metric": self.metric, "op": self.op, "threshold": self.threshold, "criterion": self.text}


@dataclass(frozen=True)
class Outcome:
    """A criterion judged on one value: passed is None when the value is missing (or NaN)."""

    criterion: Criterion
    value: float | None
    passed: bool | None
    margin: float | None  # how far on the passing side (negative: failing side); None when missing

    @property
    def status(self) -> str:
        return "missing" if self.passed is None else (PASSED if self.passed else FAILED)

    def to_dict(self) -> dict:
        return {**self.criterion.to_dict(), "value": self.value, "status": self.status, "passed": self.passed,
                "margin": self.margin}


# ---------------------------------------------------------------- parsing

def parse(metric: str, text: Any, field: str | None = None) -> Criterion:
    """One criterion string for a metric; Invalid (naming the field) for anything but op + finite number."""
    field = field or f"validation_criteria.{metric}"
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise Invalid(f"{field} must be {HELP}", field)
    match = _CRITERION.match(text)
    if match is None:
        raise Invalid(f"{field}: {text[:40]!r} is not {HELP}", field)
    op, number = match.groups()
    threshold = float(number)
    if not math.isfinite(threshold):
        raise Invalid(f"{field}: the threshold {number[:40]!r} is not a finite number", field)
    return Criterion(metric, op, threshold, f"{op} {number}")


def parse_all(criteria: Any, field: str = "validation_criteria") -> dict[str, Criterion]:
    """A {metric: "op number"} mapping → {metric: Criterion}; Invalid names the first bad entry."""
    if criteria is None:
        return {}
    if not isinstance(criteria, Mapping):
        raise Invalid(f'{field} must be an object such as {{"accuracy": ">= 0.95"}}', field)
    if len(criteria) > MAX_CRITERIA:
        raise Invalid(f"{field}: at most {MAX_CRITERIA} criteria", field)
    parsed = {}
    for metric, text in criteria.items():
        validation.key(metric, f"{field}.{str(metric)[:60]}")
        parsed[metric] = parse(metric, text, f"{field}.{metric}")
    return parsed


def check_criteria(criteria: Any, field: str = "validation_criteria") -> dict[str, str]:
    """The hook for services.experiments: validate criteria and return them canonical ({"accuracy": ">= 0.95"})."""
    return {metric: c.text for metric, c in parse_all(criteria, field).items()}


def stored(criteria: Any) -> dict[str, Criterion]:
    """Criteria already in the database, skipping any entry that does not parse (rows from before validation)."""
    out = {}
    for metric, text in (criteria or {}).items() if isinstance(criteria, Mapping) else ():
        try:
            out[metric] = parse(metric, text)
        except Invalid:
            continue
    return out


def from_parts(metric: Any, op: Any, threshold: Any, field: str) -> Criterion:
    """A criterion given as {"metric", "op", "threshold"} (hypotheses); Invalid naming field.part."""
    validation.key(metric, f"{field}.metric")
    if op not in OPERATORS:
        raise Invalid(f"{field}.op must be one of {', '.join(OPERATORS)}", f"{field}.op")
    value = validation.finite(threshold, f"{field}.threshold")
    return Criterion(metric, op, value, f"{op} {_number_text(value)}")


def _number_text(value: float) -> str:
    return str(int(value)) + ".0" if value.is_integer() and abs(value) < 1e15 else repr(value)


# ---------------------------------------------------------------- judging

def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def passes(criterion: Criterion, value: float) -> bool:
    """Does a finite value meet the criterion? Equality is judged with the float tolerance."""
    equal = close(value, criterion.threshold)
    if criterion.op == "==":
        return equal
    if criterion.op == ">=":
        return equal or value > criterion.threshold
    if criterion.op == "<=":
        return equal or value < criterion.threshold
    if criterion.op == ">":
        return not equal and value > criterion.threshold
    return not equal and value < criterion.threshold


def margin(criterion: Criterion, value: float) -> float:
    """Distance on the passing side of the threshold (negative when failing; for == minus the distance)."""
    diff = value - criterion.threshold
    if criterion.op == "==":
        return -abs(diff)
    return diff if criterion.higher_is_better else -diff


def judge(criterion: Criterion, value: float | None) -> Outcome:
    if value is None or not math.isfinite(value):
        return Outcome(criterion, None, None, None)
    return Outcome(criterion, value, passes(criterion, value), margin(criterion, value))


def pick(criterion: Criterion, last: float | None, low: float | None, high: float | None,
         summary: str = "last") -> float | None:
    """The value a gate judges: the metric's last, min or max, or its best in the criterion's direction."""
    if summary == "best":
        summary = {True: "max", False: "min", None: "last"}[criterion.higher_is_better]
    return {"last": last, "min": low, "max": high}[summary]


def verdict(outcomes: Iterable[Outcome]) -> str:
    """failed if any criterion fails; else incomplete if any metric is missing; else passed."""
    statuses = [o.status for o in outcomes]
    if not statuses:
        return NO_CRITERIA
    if FAILED in statuses:
        return FAILED
    return INCOMPLETE if "missing" in statuses else PASSED


def best(criterion: Criterion, values: Iterable[tuple[str, float]]) -> tuple[str, float] | None:
    """The (id, value) that best meets the criterion: highest for >=/>, lowest for <=/<, closest for ==."""
    finite = [(k, v) for k, v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return max(finite, key=lambda kv: margin(criterion, kv[1]))


# ---------------------------------------------------------------- traffic lights

def light(criterion: Criterion, value: float | None, bounds: tuple[float, float] | None = None) -> str:
    """grey: missing; red: fails; amber: passes within AMBER_BAND (relative) of the threshold; green: passes.

    On a bounded scale (rates and scores in [0, 1]) the amber band is at most half the room between the
    threshold and the bound, so a value can still be green under a bar such as ">= 0.99". Never amber for ==.
    """
    outcome = judge(criterion, value)
    if outcome.passed is None:
        return "grey"
    if not outcome.passed:
        return "red"
    band = AMBER_BAND * abs(criterion.threshold)
    if bounds is not None and criterion.higher_is_better is not None:
        room = bounds[1] - criterion.threshold if criterion.higher_is_better else criterion.threshold - bounds[0]
        band = min(band, room / 2) if room > 0 else band
    if criterion.op != "==" and outcome.margin < band:
        return "amber"
    return "green"


def worst_light(lights: Iterable[str]) -> str:
    """The panel's overall light: red over amber over green; grey only when every metric is missing."""
    seen = set(lights)
    return next((c for c in ("red", "amber", "green") if c in seen), "grey")


# ---------------------------------------------------------------- hypothesis verdict

def mean_ci(values: Iterable[float], confidence: float = stats.CONFIDENCE) -> list[float] | None:
    """Student-t interval of the mean (None under stats.MIN_N values; zero width when all values are equal)."""
    described = stats.describe(list(values))
    n, mean, std = described["n"], described["mean"], described["std"]
    if n < stats.MIN_N or mean is None or std is None:
        return None
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return [mean - half, mean + half]


def _ci_sides(criterion: Criterion, lo: float, hi: float) -> tuple[bool, bool]:
    """(whole interval passes, whole interval fails)."""
    if criterion.op == "==":
        t = criterion.threshold
        outside = (lo > t and not close(lo, t)) or (hi < t and not close(hi, t))
        return passes(criterion, lo) and passes(criterion, hi), outside
    worst, top = (lo, hi) if criterion.higher_is_better else (hi, lo)
    return passes(criterion, worst), not passes(criterion, top)


def judge_hypothesis(criterion: Criterion, values: Iterable[tuple[str, float | None]],
                     confidence: float = stats.CONFIDENCE) -> dict:
    """supported: the best run meets the criterion and the runs' CI of the mean lies wholly on the passing side;
    not_supported: no run meets it, or the CI lies wholly on the failing side; inconclusive otherwise (no
    values, fewer than stats.MIN_N runs, or a CI across the threshold)."""
    pairs = [(k, float(v)) for k, v in values if v is not None and math.isfinite(v)]
    top = best(criterion, pairs)
    passing = sum(passes(criterion, v) for _, v in pairs)
    ci = mean_ci([v for _, v in pairs], confidence)
    group = {**stats.describe([v for _, v in pairs]), "ci_mean": ci, "confidence": confidence,
             "method": "student-t interval of the mean", "runs_passing": passing}
    if top is None:
        verdict, reason = INCONCLUSIVE, f"no run has a value for {criterion.metric!r} yet"
    elif not passing:
        verdict, reason = NOT_SUPPORTED, f"no run meets {criterion.metric} {criterion.text}"
    elif ci is None:
        verdict, reason = INCONCLUSIVE, (f"the best run meets {criterion.metric} {criterion.text}, but a "
                                         f"{confidence:.0%} interval needs at least {stats.MIN_N} runs")
    else:
        whole_pass, whole_fail = _ci_sides(criterion, *ci)
        span = f"[{ci[0]:.6g}, {ci[1]:.6g}]"
        if whole_pass:
            verdict, reason = SUPPORTED, f"the {confidence:.0%} CI of the mean {span} meets {criterion.text}"
        elif whole_fail:
            verdict, reason = NOT_SUPPORTED, (f"the best run passes, but the {confidence:.0%} CI of the mean {span} "
                                              f"lies wholly outside {criterion.text}")
        else:
            verdict, reason = INCONCLUSIVE, f"the {confidence:.0%} CI of the mean {span} crosses {criterion.text}"
    best_run = None if top is None else {"run_id": top[0], "value": top[1], "passed": passes(criterion, top[1])}
    return {"verdict": verdict, "reason": reason, "criterion": criterion.to_dict(), "best_run": best_run,
            "group": group}
