"""services.stats against answers computed independently: published R output, hand formulas, closed forms."""
from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest

from services import stats

# R: t.test(ts1, ts2) → Welch Two Sample t-test: t = -1.8325, df = 17.9, p-value = 0.08356,
# 95 percent confidence interval -2.1469104 0.1469104, means 10.4 and 11.4.
TS1 = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9]
TS2 = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11]
# The classic one-way ANOVA example: group means 5, 9, 10; SSB = 84, SSW = 68, df (2, 15).
ANOVA_GROUPS = [[6, 8, 4, 5, 3, 4], [8, 12, 9, 11, 6, 8], [13, 9, 11, 8, 7, 12]]


def _no_nan(obj: object) -> None:
    json.dumps(obj, allow_nan=False)  # raises on NaN / inf anywhere inside


def _welch_by_hand(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """t, Welch-Satterthwaite df and the two-sided p from the regularized incomplete beta (mpmath)."""
    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    va = sum((x - ma) ** 2 for x in a) / (na - 1)
    vb = sum((x - mb) ** 2 for x in b) / (nb - 1)
    se2 = va / na + vb / nb
    t = (ma - mb) / math.sqrt(se2)
    df = se2 ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    p = float(mpmath.betainc(df / 2, 0.5, 0, df / (df + t * t), regularized=True))
    return t, df, p


def _avg_ranks(values: list[float]) -> list[float]:
    order = sorted(values)
    return [(order.index(v) + 1 + order.index(v) + order.count(v)) / 2 for v in values]


# ---------------------------------------------------------------- two-group tests

def test_welch_matches_the_published_r_output_and_a_hand_computation() -> None:
    t, p, notes = stats.welch(TS1, TS2)
    assert round(t, 4) == -1.8325 and round(p, 5) == 0.08356 and notes == []
    hand_t, hand_df, hand_p = _welch_by_hand(TS1, TS2)
    assert round(hand_df, 1) == 17.9
    assert t == pytest.approx(hand_t, rel=1e-12) and p == pytest.approx(hand_p, rel=1e-9)


def test_mann_whitney_with_ties_matches_the_normal_approximation_by_hand() -> None:
    a, b = [1, 2, 2, 3], [2, 3, 4, 5, 5]
    ranks = _avg_ranks(a + b)  # 1, 3, 3, 5.5 | 3, 5.5, 7, 8.5, 8.5
    u = sum(ranks[:4]) - 4 * 5 / 2
    assert u == 2.5
    ties = 3 ** 3 - 3 + 2 ** 3 - 2 + 2 ** 3 - 2  # three 2s, two 3s, two 5s
    sigma = math.sqrt(4 * 5 / 12 * ((9 + 1) - ties / (9 * 8)))
    z = (abs(u - 4 * 5 / 2) - 0.5) / sigma  # continuity correction
    p_hand = math.erfc(z / math.sqrt(2))
    stat, p, notes = stats.mannwhitney(a, b)
    assert stat == 2.5 and p == pytest.approx(p_hand, rel=1e-12) and notes == []
    assert round(p, 4) == 0.0785


def test_mann_whitney_small_untied_samples_use_the_exact_distribution() -> None:
    # complete separation of 3 vs 3: P = 2 / C(6, 3) = 0.1, so not significant at 0.05
    stat, p, _ = stats.mannwhitney([1, 2, 3], [4, 5, 6])
    assert stat == 0 and p == pytest.approx(0.1)


def test_effect_sizes_by_hand() -> None:
    # pooled SD of [6,8,4,5,3,4] (var 3.2) and [8,12,9,11,6,8] (var 4.8) is 2; means 5 and 9
    assert stats.cohens_d(ANOVA_GROUPS[1], ANOVA_GROUPS[0]) == pytest.approx(2.0)
    assert stats.cohens_d(ANOVA_GROUPS[0], ANOVA_GROUPS[1]) == pytest.approx(-2.0)
    # a=[1,2,2,3] vs b=[2,3,4,5,5]: 1 pair a>b, 16 pairs a<b, 3 ties → (1 - 16) / 20
    assert stats.cliffs_delta([1, 2, 2, 3], [2, 3, 4, 5, 5]) == pytest.approx(-0.75)
    assert stats.cliffs_delta([4, 5, 6], [1, 2, 3]) == 1.0


# ---------------------------------------------------------------- k groups

def test_anova_matches_the_textbook_example_and_the_f_closed_form() -> None:
    f, p, notes = stats.anova(ANOVA_GROUPS)
    assert f == pytest.approx((84 / 2) / (68 / 15)) and notes == []
    assert p == pytest.approx((1 + 2 * f / 15) ** (-15 / 2), rel=1e-9)  # F(2, ν) survival in closed form
    assert stats.eta_squared(ANOVA_GROUPS) == pytest.approx(84 / (84 + 68))


def test_kruskal_wallis_with_ties_by_hand() -> None:
    flat = [v for g in ANOVA_GROUPS for v in g]
    ranks = _avg_ranks(flat)
    n = len(flat)
    sums = [sum(ranks[6 * i:6 * i + 6]) for i in range(3)]
    h = 12 / (n * (n + 1)) * sum(s * s / 6 for s in sums) - 3 * (n + 1)
    ties = sum(flat.count(v) ** 3 - flat.count(v) for v in set(flat))
    h /= 1 - ties / (n ** 3 - n)
    stat, p, _ = stats.kruskal(ANOVA_GROUPS)
    assert stat == pytest.approx(h) and p == pytest.approx(math.exp(-h / 2))  # chi-square(2) survival


def test_holm_step_down_by_hand() -> None:
    # sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → raised to 0.06 (monotone)
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, None, 0.4]) == [0.8, None, 0.8]  # untested entries leave the family
    assert stats.holm([0.9, 0.8]) == [1.0, 1.0]


def test_three_groups_anova_with_holm_adjusted_welch_pairs() -> None:
    result = stats.compare_groups({"a": ANOVA_GROUPS[0], "b": ANOVA_GROUPS[1], "c": ANOVA_GROUPS[2]}).to_dict()
    assert result["test"] == "anova" and result["significant"] is True
    assert result["ranking"] == ["c", "b", "a"] and result["ci_between"] == ["c", "b"]
    pairs = {(p["first"], p["second"]): p for p in result["pairwise"]}
    assert set(pairs) == {("c", "b"), ("c", "a"), ("b", "a")}
    raw = {k: _welch_by_hand(ANOVA_GROUPS["abc".index(k[0])], ANOVA_GROUPS["abc".index(k[1])])[2] for k in pairs}
    ordered = sorted(raw, key=raw.get)
    expected, running = {}, 0.0
    for i, key in enumerate(ordered):
        running = max(running, min(1.0, (3 - i) * raw[key]))
        expected[key] = running
    for key, pair in pairs.items():
        assert pair["p_value"] == pytest.approx(raw[key], rel=1e-9)
        assert pair["adjusted_p"] == pytest.approx(expected[key], rel=1e-9)
        assert pair["significant"] is (expected[key] < 0.05)
    assert pairs[("c", "b")]["significant"] is False and pairs[("c", "a")]["significant"] is True
    assert pairs[("b", "a")]["difference"] == 4.0 and pairs[("b", "a")]["effect_size"]["value"] == pytest.approx(2.0)
    _no_nan(result)


def test_kruskal_path_reports_epsilon_squared_and_cliffs_delta_pairs() -> None:
    result = stats.compare_groups({"a": ANOVA_GROUPS[0], "b": ANOVA_GROUPS[1], "c": ANOVA_GROUPS[2]},
                                  test="mannwhitney").to_dict()
    h = stats.kruskal(ANOVA_GROUPS)[0]
    assert result["test"] == "kruskal" and result["effect_size"] == {"name": "epsilon_squared",
                                                                     "value": pytest.approx(h / 17)}
    assert {p["effect_size"]["name"] for p in result["pairwise"]} == {"cliffs_delta"}


# ---------------------------------------------------------------- edge cases

def test_fewer_than_three_runs_gives_no_claim_and_a_warning() -> None:
    result = stats.compare_groups({"a": [0.9, 0.91], "b": [0.5, 0.51, 0.52, 0.5]}).to_dict()
    assert result["significant"] is False and result["p_value"] is None and result["ci_difference"] is None
    assert any("a: only 2 value(s)" in w for w in result["warnings"])
    assert result["n"] == {"a": 2, "b": 4} and result["means"]["a"] == pytest.approx(0.905)
    three = stats.compare_groups({"a": [0.9], "b": [0.5, 0.6, 0.7], "c": [0.1, 0.2, 0.3]}).to_dict()
    assert three["p_value"] is None and three["significant"] is False
    pairs = {(p["first"], p["second"]): p for p in three["pairwise"]}
    assert pairs[("a", "b")]["p_value"] is None and pairs[("b", "c")]["p_value"] is not None
    assert pairs[("b", "c")]["adjusted_p"] == pairs[("b", "c")]["p_value"]  # the only tested pair: family of 1
    _no_nan(three)


def test_identical_groups_are_not_significant_and_carry_no_nan() -> None:
    for test in ("welch", "mannwhitney"):
        same = stats.compare_groups({"a": [0.8, 0.8, 0.8], "b": [0.8, 0.8, 0.8]}, test=test).to_dict()
        assert same["p_value"] == 1.0 and same["significant"] is False
        assert same["effect_size"]["value"] == 0.0 and same["ci_difference"] == [pytest.approx(0), pytest.approx(0)]
        _no_nan(same)
        shuffled = stats.compare_groups({"a": [0.7, 0.8, 0.9, 0.85], "b": [0.9, 0.85, 0.8, 0.7]}, test=test)
        assert shuffled.result.p_value == pytest.approx(1.0) and shuffled.result.significant is False
    for test in ("welch", "mannwhitney"):
        flat = stats.compare_groups({"a": [1, 1, 1], "b": [1, 1, 1], "c": [1, 1, 1]}, test=test).to_dict()
        assert flat["p_value"] == 1.0 and flat["significant"] is False
        _no_nan(flat)


def test_zero_variance_groups() -> None:
    both = stats.compare_groups({"a": [0.9, 0.9, 0.9], "b": [0.8, 0.8, 0.8]}).to_dict()
    assert both["p_value"] == 0.0 and both["statistic"] is None and both["effect_size"]["value"] is None
    assert any("zero variance" in w for w in both["warnings"])
    one = stats.compare_groups({"a": [0.9, 0.9, 0.9], "b": [0.7, 0.8, 0.75]}).to_dict()
    hand_t, _, hand_p = _welch_by_hand([0.9, 0.9, 0.9], [0.7, 0.8, 0.75])
    assert one["statistic"] == pytest.approx(hand_t) and one["p_value"] == pytest.approx(hand_p)
    anova = stats.compare_groups({"a": [1, 1, 1], "b": [2, 2, 2], "c": [3, 3, 3]}).to_dict()
    assert anova["p_value"] == 0.0 and anova["effect_size"]["value"] == 1.0
    for result in (both, one, anova):
        _no_nan(result)


def test_non_finite_values_are_dropped_and_empty_groups_rank_last() -> None:
    result = stats.compare_groups({"a": [], "b": [1.0, float("nan"), None, 2.0, 3.0, float("inf")]},
                                  higher_is_better=False).to_dict()
    assert result["ranking"] == ["b", "a"] and result["n"] == {"b": 3, "a": 0}
    assert result["means"] == {"b": 2.0, "a": None} and result["p_value"] is None
    _no_nan(result)


def test_direction_orients_ranking_differences_and_intervals() -> None:
    low, high = [0.2, 0.25, 0.22, 0.21], [0.5, 0.55, 0.52, 0.51]
    loss = stats.compare_groups({"high": high, "low": low}, higher_is_better=False).to_dict()
    assert loss["ranking"] == ["low", "high"] and loss["pairwise"][0]["difference"] < 0
    assert loss["ci_difference"][1] < 0 and loss["effect_size"]["value"] < 0 and loss["significant"] is True
    acc = stats.compare_groups({"low": low, "high": high}).to_dict()
    assert acc["ranking"] == ["high", "low"] and acc["ci_difference"][0] > 0


def test_alpha_is_a_parameter() -> None:
    result = stats.compare_groups({"a": TS1, "b": TS2}, alpha=0.1)
    assert result.result.p_value == pytest.approx(0.08356, abs=1e-5) and result.result.significant is True
    assert stats.compare_groups({"a": TS1, "b": TS2}).result.significant is False
    with pytest.raises(ValueError):
        stats.compare_groups({"a": TS1, "b": TS2}, alpha=0.6)
    with pytest.raises(ValueError):
        stats.compare_groups({"a": TS1, "b": TS2}, test="ttest")


def test_family_adjustment_across_metrics() -> None:
    first = stats.compare_groups({"a": TS1, "b": TS2}, alpha=0.1).result
    second = stats.compare_groups({"a": [1, 2, 3], "b": [1, 2, 3]}, alpha=0.1).result
    stats.adjust_family([first, second], alpha=0.1)
    assert first.adjusted_p == pytest.approx(2 * first.p_value) and first.significant is False
    assert second.adjusted_p == 1.0


# ---------------------------------------------------------------- bootstrap

def test_bootstrap_interval_is_seeded_and_reproducible() -> None:
    a, b = [0.81, 0.84, 0.86, 0.83, 0.85], [0.78, 0.8, 0.79, 0.82, 0.77]
    once = stats.bootstrap_ci_difference(a, b, seed=7)
    assert once == stats.bootstrap_ci_difference(a, b, seed=7)
    assert once != stats.bootstrap_ci_difference(a, b, seed=8)
    diff = np.mean(a) - np.mean(b)
    assert once[0] < diff < once[1]
    assert stats.bootstrap_ci_difference([1, 2], [3, 4, 5]) is None  # under MIN_N: no interval


def test_bootstrap_interval_agrees_with_welchs_for_large_normal_samples() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.8, 0.05, 400), rng.normal(0.78, 0.08, 300)
    lo, hi = stats.bootstrap_ci_difference(a, b, seed=3, resamples=8000)
    t, df, _ = _welch_by_hand(list(a), list(b))
    se = (np.mean(a) - np.mean(b)) / t
    half = float(mpmath.findroot(lambda q: mpmath.betainc(df / 2, 0.5, 0, df / (df + q * q), regularized=True)
                                 - 0.05, 2.0)) * se
    welch_lo, welch_hi = np.mean(a) - np.mean(b) - half, np.mean(a) - np.mean(b) + half
    assert lo == pytest.approx(welch_lo, abs=0.1 * half) and hi == pytest.approx(welch_hi, abs=0.1 * half)


def test_bootstrap_of_constant_groups_is_the_exact_difference() -> None:
    lo, hi = stats.bootstrap_ci_difference([0.9] * 4, [0.8] * 5)
    assert lo == pytest.approx(0.1) and hi == pytest.approx(0.1)
