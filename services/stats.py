"""Significance tests, effect sizes and bootstrap intervals over per-run metric values (pure: numbers in, dicts out).

Each group is one experiment; its samples are one summary value per run (last, min or max of a metric).
Nothing here does I/O; every float that leaves is finite or None, so results go to JSON as they are.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as sps

TWO_GROUP_TESTS = ("welch", "mannwhitney")
OMNIBUS = {"welch": "anova", "mannwhitney": "kruskal"}
EFFECT = {"welch": "cohens_d", "mannwhitney": "cliffs_delta", "anova": "eta_squared", "kruskal": "epsilon_squared"}
MIN_N = 3  # below this per group: descriptive numbers only, no claim of significance
RESAMPLES = 4000
CONFIDENCE = 0.95
_CHUNK = 1_000_000  # bootstrap index cells drawn at a time (bounds memory for large groups)


@dataclass
class TestResult:
    """One hypothesis test. Differences, effect sizes and intervals are oriented mean(first) − mean(second)."""

    test: str
    p_value: float | None
    adjusted_p: float | None
    significant: bool
    effect_size: dict
    ci_difference: list[float] | None
    n: dict[str, int]
    means: dict[str, float | None]
    statistic: float | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PairResult(TestResult):
    first: str = ""
    second: str = ""
    difference: float | None = None


@dataclass
class GroupComparison:
    """A metric over k ≥ 2 groups: the overall test, every pair, and the groups ranked best first."""

    result: TestResult
    pairwise: list[PairResult]
    ranking: list[str]
    summaries: dict[str, dict]
    ci_between: list[str]

    def to_dict(self) -> dict:
        return {**self.result.to_dict(), "ci_between": self.ci_between, "ranking": self.ranking,
                "groups": self.summaries, "pairwise": [p.to_dict() for p in self.pairwise]}


# ---------------------------------------------------------------- small helpers

def num(value: float | None) -> float | None:
    """A plain float, or None for None / NaN / ±inf (JSON has neither)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def finite(values: Iterable[float | None]) -> np.ndarray:
    """The finite numbers of a sample (None, NaN and ±inf dropped)."""
    arr = np.array([v for v in values if v is not None], dtype=float)
    return arr[np.isfinite(arr)]


def _constant(x: np.ndarray) -> bool:
    return x.size > 0 and bool(np.all(x == x[0]))


def _ss(x: np.ndarray) -> float:
    """Sum of squared deviations; exactly 0 for a constant sample (the float mean of [0.9] * 3 is not 0.9)."""
    return 0.0 if _constant(x) else float(np.sum((x - x.mean()) ** 2))


def _mean(x: np.ndarray) -> float | None:
    return num(np.mean(x)) if x.size else None


def describe(x: Sequence[float]) -> dict:
    """n, mean, sample std (ddof 1), median, min, max; None where undefined."""
    arr = finite(x)
    std = num(math.sqrt(_ss(arr) / (arr.size - 1))) if arr.size > 1 else None
    return {"n": int(arr.size), "mean": _mean(arr), "std": std,
            "median": num(np.median(arr)) if arr.size else None, "min": num(arr.min()) if arr.size else None,
            "max": num(arr.max()) if arr.size else None}


def _quiet(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """scipy warns on degenerate input; the callers handle those cases themselves."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- tests: (statistic, p, warnings)

def welch(a: Sequence[float], b: Sequence[float]) -> tuple[float | None, float | None, list[str]]:
    """Welch's unequal-variances t-test, two-sided. Two constant groups: equal → p 1; different → p 0 (the limit)."""
    x, y = finite(a), finite(b)
    if x.size < 2 or y.size < 2:
        return None, None, ["the t-test needs at least 2 values per group"]
    if _constant(x) and _constant(y):
        if x[0] == y[0]:
            return 0.0, 1.0, ["every value in both groups is identical: no difference"]
        return None, 0.0, ["both groups have zero variance and different values: the t statistic is infinite "
                           "(p = 0 is its limit); check that the runs are really independent (different seeds)"]
    res = _quiet(sps.ttest_ind, x, y, equal_var=False)
    return _checked(res.statistic, res.pvalue)


def mannwhitney(a: Sequence[float], b: Sequence[float]) -> tuple[float | None, float | None, list[str]]:
    """Mann-Whitney U, two-sided; scipy's 'auto' method: exact for small untied samples, else normal with tie
    correction and continuity correction. U is the statistic of the first group."""
    x, y = finite(a), finite(b)
    if x.size < 1 or y.size < 1:
        return None, None, ["the Mann-Whitney test needs values in both groups"]
    if _constant(np.concatenate([x, y])):
        return float(x.size * y.size / 2), 1.0, ["every value in both groups is identical: no difference"]
    res = _quiet(sps.mannwhitneyu, x, y, alternative="two-sided", method="auto")
    return _checked(res.statistic, res.pvalue)


def anova(groups: Sequence[Sequence[float]]) -> tuple[float | None, float | None, list[str]]:
    """One-way ANOVA. Every group constant: all equal → p 1; otherwise F is infinite → p 0 (the limit)."""
    arrays = [finite(g) for g in groups]
    if sum(a.size for a in arrays) <= len(arrays) or any(a.size == 0 for a in arrays):
        return None, None, ["ANOVA needs values in every group and more values than groups"]
    if all(_constant(a) for a in arrays):
        if _constant(np.concatenate(arrays)):
            return 0.0, 1.0, ["every value in every group is identical: no difference"]
        return None, 0.0, ["every group has zero variance and the groups differ: F is infinite (p = 0 is its "
                           "limit); check that the runs are really independent (different seeds)"]
    res = _quiet(sps.f_oneway, *arrays)
    return _checked(res.statistic, res.pvalue)


def kruskal(groups: Sequence[Sequence[float]]) -> tuple[float | None, float | None, list[str]]:
    """Kruskal-Wallis H with tie correction (chi-square approximation)."""
    arrays = [finite(g) for g in groups]
    if any(a.size == 0 for a in arrays):
        return None, None, ["Kruskal-Wallis needs values in every group"]
    if _constant(np.concatenate(arrays)):
        return 0.0, 1.0, ["every value in every group is identical: no difference"]
    res = _quiet(sps.kruskal, *arrays)
    return _checked(res.statistic, res.pvalue)


def _checked(statistic: float, p: float) -> tuple[float | None, float | None, list[str]]:
    if num(p) is None:
        return num(statistic), None, ["the test could not be computed for these values"]
    return num(statistic), min(max(float(p), 0.0), 1.0), []


# ---------------------------------------------------------------- effect sizes

def cohens_d(a: Sequence[float], b: Sequence[float]) -> float | None:
    """(mean a − mean b) / pooled SD (ddof 1); 0 when both are constant and equal; None when undefined."""
    x, y = finite(a), finite(b)
    if x.size < 1 or y.size < 1 or x.size + y.size < 3:
        return None
    diff = float(np.mean(x) - np.mean(y))
    pooled = math.sqrt((_ss(x) + _ss(y)) / (x.size + y.size - 2))
    if pooled == 0.0:
        return 0.0 if _constant(np.concatenate([x, y])) else None
    return num(diff / pooled)


def cliffs_delta(a: Sequence[float], b: Sequence[float]) -> float | None:
    """P(a > b) − P(a < b) over all pairs, in [-1, 1]; ties count as neither. O(n log n)."""
    x, y = finite(a), np.sort(finite(b))
    if x.size < 1 or y.size < 1:
        return None
    less = np.searchsorted(y, x, side="left").sum()  # pairs with b < a
    greater = (y.size - np.searchsorted(y, x, side="right")).sum()  # pairs with b > a
    return float((less - greater) / (x.size * y.size))


def eta_squared(groups: Sequence[Sequence[float]]) -> float | None:
    """Between-groups sum of squares / total sum of squares (0 when every value is the same)."""
    arrays = [finite(g) for g in groups if len(finite(g))]
    if not arrays:
        return None
    allv = np.concatenate(arrays)
    total = _ss(allv)
    if total == 0.0:
        return 0.0
    between = sum(a.size * (a.mean() - allv.mean()) ** 2 for a in arrays)
    return num(min(between / total, 1.0))


def epsilon_squared(h: float | None, n_total: int) -> float | None:
    """Kruskal-Wallis effect size H / (n − 1) (Tomczak & Tomczak 2014), clipped to [0, 1]."""
    if h is None or n_total < 2:
        return None
    return num(min(max(h / (n_total - 1), 0.0), 1.0))


def effect_size(test: str, a: Sequence[float], b: Sequence[float]) -> dict:
    name = EFFECT[test]
    return {"name": name, "value": cohens_d(a, b) if name == "cohens_d" else cliffs_delta(a, b)}


# ---------------------------------------------------------------- corrections and intervals

def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni step-down adjusted p-values; None entries stay None and are not counted in the family."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def bootstrap_means(x: Sequence[float], seed: int | Sequence[int], resamples: int = RESAMPLES) -> np.ndarray:
    """Means of `resamples` resamples (with replacement) of x; the seed fixes them."""
    arr = finite(x)
    rng = np.random.default_rng(seed)
    out = np.empty(resamples)
    rows = max(1, _CHUNK // max(arr.size, 1))
    for start in range(0, resamples, rows):
        stop = min(start + rows, resamples)
        out[start:stop] = arr[rng.integers(0, arr.size, size=(stop - start, arr.size))].mean(axis=1)
    return out


def percentile_ci(boot_diff: np.ndarray, confidence: float = CONFIDENCE) -> list[float] | None:
    tail = (1.0 - confidence) / 2.0
    lo, hi = (num(v) for v in np.quantile(boot_diff, [tail, 1.0 - tail]))
    return None if lo is None or hi is None else [lo, hi]


def bootstrap_ci_difference(a: Sequence[float], b: Sequence[float], seed: int = 0, resamples: int = RESAMPLES,
                            confidence: float = CONFIDENCE) -> list[float] | None:
    """Percentile bootstrap interval of mean(a) − mean(b), each group resampled on its own; None under MIN_N."""
    x, y = finite(a), finite(b)
    if x.size < MIN_N or y.size < MIN_N:
        return None
    return percentile_ci(bootstrap_means(x, [seed, 0], resamples) - bootstrap_means(y, [seed, 1], resamples),
                         confidence)


# ---------------------------------------------------------------- comparisons

def _small_warnings(arrays: dict[str, np.ndarray]) -> list[str]:
    return [f"{label}: only {a.size} value(s); at least {MIN_N} per group are needed for a significance claim"
            for label, a in arrays.items() if a.size < MIN_N]


def _pair(test: str, first: str, second: str, arrays: dict[str, np.ndarray], boot: dict[str, np.ndarray],
          confidence: float) -> PairResult:
    x, y = arrays[first], arrays[second]
    notes = _small_warnings({first: x, second: y})
    stat, p = None, None
    if not notes:
        stat, p, notes = (welch if test == "welch" else mannwhitney)(x, y)
    ci = percentile_ci(boot[first] - boot[second], confidence) if first in boot and second in boot else None
    mx, my = _mean(x), _mean(y)
    return PairResult(test=test, p_value=p, adjusted_p=p, significant=False, effect_size=effect_size(test, x, y),
                      ci_difference=ci, n={first: int(x.size), second: int(y.size)}, means={first: mx, second: my},
                      statistic=stat, warnings=notes, first=first, second=second,
                      difference=num(mx - my) if mx is not None and my is not None else None)


def _rank(arrays: dict[str, np.ndarray], higher_is_better: bool) -> list[str]:
    """Best mean first; groups without values last; ties keep the input order."""
    order = list(arrays)
    sign = -1.0 if higher_is_better else 1.0
    return sorted(order, key=lambda k: (arrays[k].size == 0, sign * float(np.mean(arrays[k])) if arrays[k].size
                                        else 0.0, order.index(k)))


def _omnibus(test: str, arrays: dict[str, np.ndarray], first: PairResult) -> TestResult:
    name = OMNIBUS[test]
    groups = list(arrays.values())
    notes = _small_warnings(arrays)
    stat, p = None, None
    if not notes:
        stat, p, notes = (anova if name == "anova" else kruskal)(groups)
    value = eta_squared(groups) if name == "anova" else epsilon_squared(
        kruskal(groups)[0] if all(a.size for a in groups) else None, sum(a.size for a in groups))
    return TestResult(test=name, p_value=p, adjusted_p=p, significant=False, effect_size={"name": EFFECT[name],
                      "value": value}, ci_difference=first.ci_difference, n={k: int(a.size) for k, a in arrays.items()},
                      means={k: _mean(a) for k, a in arrays.items()}, statistic=stat, warnings=notes)


def compare_groups(groups: dict[str, Sequence[float]], test: str = "welch", alpha: float = 0.05,
                   higher_is_better: bool = True, seed: int = 0, resamples: int = RESAMPLES,
                   confidence: float = CONFIDENCE) -> GroupComparison:
    """Two groups: Welch t (or Mann-Whitney U) of best vs other. More: ANOVA (or Kruskal-Wallis) over all, plus every
    pair by the two-group test with Holm-adjusted p-values. Intervals and effect sizes: best-ranked minus other."""
    if test not in TWO_GROUP_TESTS:
        raise ValueError(f"test must be one of {TWO_GROUP_TESTS}")
    if not 0.0 < alpha <= 0.5:
        raise ValueError("alpha must be in (0, 0.5]")
    if len(groups) < 2:
        raise ValueError("compare at least two groups")
    arrays = {label: finite(values) for label, values in groups.items()}
    ranking = _rank(arrays, higher_is_better)
    boot = {label: bootstrap_means(arrays[label], [seed, i], resamples)
            for i, label in enumerate(arrays) if arrays[label].size >= MIN_N}
    pairs = [_pair(test, a, b, arrays, boot, confidence) for a, b in combinations(ranking, 2)]
    for pair, adjusted in zip(pairs, holm([p.p_value for p in pairs])):
        pair.adjusted_p, pair.significant = adjusted, adjusted is not None and adjusted < alpha
    if len(arrays) == 2:
        result = TestResult(**{k: v for k, v in pairs[0].to_dict().items() if k in TestResult.__dataclass_fields__})
    else:
        result = _omnibus(test, {k: arrays[k] for k in ranking}, pairs[0])
    result.significant = result.p_value is not None and result.p_value < alpha
    summaries = {label: describe(arrays[label]) for label in ranking}
    return GroupComparison(result=result, pairwise=pairs, ranking=ranking, summaries=summaries,
                           ci_between=ranking[:2])


def adjust_family(results: Sequence[TestResult], alpha: float = 0.05) -> None:
    """Holm across a family of tests (e.g. the metrics of one comparison): sets adjusted_p and significant."""
    for result, adjusted in zip(results, holm([r.p_value for r in results])):
        result.adjusted_p, result.significant = adjusted, adjusted is not None and adjusted < alpha
