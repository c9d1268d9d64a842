"""services.gates: criterion parsing, boundaries, float equality, verdicts and bad strings (pure, no database)."""
from __future__ import annotations

import pytest

from services import gates
from services.errors import Invalid


@pytest.mark.parametrize("text, op, threshold, canonical", [
    (">= 0.95", ">=", 0.95, ">= 0.95"),
    ("<=0.01", "<=", 0.01, "<= 0.01"),
    ("  > 0.9 ", ">", 0.9, "> 0.9"),
    ("< .1", "<", 0.1, "< .1"),
    ("== 1.0", "==", 1.0, "== 1.0"),
    (">= 1e-3", ">=", 0.001, ">= 1e-3"),
    ("<= -2", "<=", -2.0, "<= -2"),
    (">= +5", ">=", 5.0, ">= +5"),
])
def test_parse_accepts_the_five_operators_and_plain_numbers(text: str, op: str, threshold: float,
                                                            canonical: str) -> None:
    c = gates.parse("accuracy", text)
    assert (c.metric, c.op, c.threshold, c.text) == ("accuracy", op, threshold, canonical)


@pytest.mark.parametrize("bad", [
    "", "0.95", ">=", "=> 0.95", "=< 0.1", "!= 1", "= 1", ">== 1", ">= 0.95 and <= 1", ">= abc", ">= nan",
    ">= inf", ">= -inf", ">= 1e999", "≥ 0.95", ">= 95%", ">= 0,95", ">= 0x10", ">= 1.0.0", "approximately 1",
    "x" * 200,
])
def test_parse_rejects_anything_else_naming_the_field(bad: str) -> None:
    with pytest.raises(Invalid) as err:
        gates.parse("accuracy", bad)
    assert err.value.field == "validation_criteria.accuracy"


@pytest.mark.parametrize("bad", [None, 0.95, 1, True, [">= 1"], {"op": ">="}])
def test_parse_rejects_non_strings(bad: object) -> None:
    with pytest.raises(Invalid) as err:
        gates.parse("accuracy", bad)
    assert err.value.field == "validation_criteria.accuracy"


def test_check_criteria_returns_canonical_strings_and_names_the_bad_entry() -> None:
    assert gates.check_criteria({"accuracy": ">=0.95", "missed_crisis_rate": " <= 0.01"}) == {
        "accuracy": ">= 0.95", "missed_crisis_rate": "<= 0.01"}
    assert gates.check_criteria({}) == {} and gates.check_criteria(None) == {}
    with pytest.raises(Invalid) as err:
        gates.check_criteria({"accuracy": ">= 0.95", "f1": "good"})
    assert err.value.field == "validation_criteria.f1"
    with pytest.raises(Invalid) as err:
        gates.check_criteria({"bad key!": ">= 1"})
    assert err.value.field.startswith("validation_criteria.")
    with pytest.raises(Invalid) as err:
        gates.check_criteria([">= 1"])
    assert err.value.field == "validation_criteria"
    with pytest.raises(Invalid):
        gates.check_criteria({f"m{i}": ">= 1" for i in range(gates.MAX_CRITERIA + 1)})


@pytest.mark.parametrize("text, value, expected", [
    (">= 0.95", 0.95, True), (">= 0.95", 0.9499, False), (">= 0.95", 0.96, True),
    ("> 0.95", 0.95, False), ("> 0.95", 0.9500001, True),
    ("<= 0.01", 0.01, True), ("<= 0.01", 0.0101, False), ("<= 0.01", 0.0, True),
    ("< 0.01", 0.01, False), ("< 0.01", 0.0099, True),
    ("== 1.0", 1.0, True), ("== 1.0", 0.999, False), ("== 1", 1.0, True),
])
def test_boundaries(text: str, value: float, expected: bool) -> None:
    assert gates.passes(gates.parse("m", text), value) is expected


def test_float_equality_uses_a_tolerance_at_the_boundary() -> None:
    total = 0.1 + 0.2  # 0.30000000000000004
    assert total != 0.3
    assert gates.passes(gates.parse("m", "== 0.3"), total)
    assert gates.passes(gates.parse("m", "<= 0.3"), total)  # a hair above, but equal within tolerance
    assert not gates.passes(gates.parse("m", "> 0.3"), total)  # equal is not greater
    assert gates.passes(gates.parse("m", ">= 0.95"), 0.95 * (1 - 1e-12))
    assert not gates.passes(gates.parse("m", ">= 0.95"), 0.95 * (1 - 1e-6))
    assert gates.passes(gates.parse("m", "== 0"), 1e-15) and not gates.passes(gates.parse("m", "== 0"), 1e-9)


def test_judge_gives_margin_and_status_and_missing_for_none_or_nan() -> None:
    c = gates.parse("accuracy", ">= 0.95")
    assert gates.judge(c, 0.97).status == "passed" and gates.judge(c, 0.97).margin == pytest.approx(0.02)
    assert gates.judge(c, 0.90).status == "failed" and gates.judge(c, 0.90).margin == pytest.approx(-0.05)
    assert gates.judge(c, None).status == "missing" and gates.judge(c, float("nan")).passed is None
    low = gates.parse("missed_crisis_rate", "<= 0.01")
    assert gates.judge(low, 0.004).margin == pytest.approx(0.006)
    assert gates.judge(gates.parse("m", "== 1"), 0.9).margin == pytest.approx(-0.1)
    assert gates.judge(c, 0.97).to_dict() == {"metric": "accuracy", "op": ">=", "threshold": 0.95,
                                              "criterion": ">= 0.95", "value": 0.97, "status": "passed",
                                              "passed": True, "margin": pytest.approx(0.02)}


def test_verdict_failed_beats_incomplete_beats_passed() -> None:
    acc, crisis = gates.parse("accuracy", ">= 0.95"), gates.parse("crisis_detection_rate", ">= 0.99")
    assert gates.verdict([gates.judge(acc, 0.96), gates.judge(crisis, 0.995)]) == "passed"
    assert gates.verdict([gates.judge(acc, 0.96), gates.judge(crisis, None)]) == "incomplete"
    assert gates.verdict([gates.judge(acc, 0.90), gates.judge(crisis, None)]) == "failed"
    assert gates.verdict([]) == "no_criteria"


def test_pick_uses_last_by_default_and_best_follows_the_operator() -> None:
    hi, lo, eq = gates.parse("a", ">= 1"), gates.parse("b", "<= 1"), gates.parse("c", "== 1")
    assert gates.pick(hi, 0.5, 0.1, 0.9) == 0.5
    assert gates.pick(hi, 0.5, 0.1, 0.9, "best") == 0.9 and gates.pick(lo, 0.5, 0.1, 0.9, "best") == 0.1
    assert gates.pick(eq, 0.5, 0.1, 0.9, "best") == 0.5 and gates.pick(hi, 0.5, 0.1, 0.9, "min") == 0.1


def test_best_run_follows_the_direction() -> None:
    values = [("a", 0.91), ("b", 0.97), ("c", None), ("d", float("nan")), ("e", 0.93)]
    assert gates.best(gates.parse("m", ">= 0.95"), values) == ("b", 0.97)
    assert gates.best(gates.parse("m", "<= 0.95"), values) == ("a", 0.91)
    assert gates.best(gates.parse("m", "== 0.935"), values) == ("e", 0.93)
    assert gates.best(gates.parse("m", ">= 1"), [("x", None)]) is None


def test_from_parts_and_stored() -> None:
    c = gates.from_parts("accuracy", ">=", 0.95, "hypothesis_criterion")
    assert c.text == ">= 0.95" and gates.parse("accuracy", c.text) == c
    assert gates.from_parts("m", "==", 1, "h").text == "== 1.0"
    for metric, op, threshold, field in ((None, ">=", 1, "h.metric"), ("m", "=>", 1, "h.op"),
                                         ("m", ">=", "1", "h.threshold"), ("m", ">=", float("inf"), "h.threshold"),
                                         ("m", ">=", True, "h.threshold")):
        with pytest.raises(Invalid) as err:
            gates.from_parts(metric, op, threshold, "h")
        assert err.value.field == field
    assert set(gates.stored({"a": ">= 1", "b": "junk", "c": 5})) == {"a"} and gates.stored(None) == {}


@pytest.mark.parametrize("text, value, bounds, expected", [
    (">= 0.95", None, None, "grey"), (">= 0.95", float("nan"), None, "grey"),
    (">= 0.95", 0.94, None, "red"), (">= 0.95", 0.95, None, "amber"), (">= 0.95", 0.968, None, "amber"),
    (">= 0.95", 0.97, None, "green"),
    (">= 0.99", 0.995, None, "amber"),  # unbounded: 2% of 0.99 covers every rate above it
    (">= 0.99", 0.994, (0, 1), "amber"), (">= 0.99", 0.996, (0, 1), "green"),  # bounded: half the room left
    ("<= 0.01", 0.0099, (0, 1), "amber"), ("<= 0.01", 0.005, (0, 1), "green"), ("<= 0.01", 0.0101, (0, 1), "red"),
    ("== 1.0", 1.0, (0, 1), "green"), ("== 1.0", 0.99, (0, 1), "red"),
])
def test_traffic_lights(text: str, value: float | None, bounds: tuple | None, expected: str) -> None:
    assert gates.light(gates.parse("m", text), value, bounds) == expected


def test_worst_light() -> None:
    assert gates.worst_light(["green", "amber", "grey"]) == "amber"
    assert gates.worst_light(["green", "red"]) == "red" and gates.worst_light(["grey", "grey"]) == "grey"
    assert gates.worst_light([]) == "grey"


def test_mean_ci_is_the_student_t_interval() -> None:
    lo, hi = gates.mean_ci([0.96, 0.97, 0.965])  # mean 0.965, s 0.005, t(0.975, 2) = 4.302653
    half = 4.302653 * 0.005 / 3 ** 0.5
    assert lo == pytest.approx(0.965 - half, abs=1e-6) and hi == pytest.approx(0.965 + half, abs=1e-6)
    assert gates.mean_ci([0.9, 0.9, 0.9]) == [pytest.approx(0.9), pytest.approx(0.9)]
    assert gates.mean_ci([0.9, 0.95]) is None and gates.mean_ci([]) is None


def _verdict(text: str, values: list[float | None]) -> dict:
    return gates.judge_hypothesis(gates.parse("accuracy", text), [(f"r{i}", v) for i, v in enumerate(values)])


def test_hypothesis_verdicts() -> None:
    assert _verdict(">= 0.95", [])["verdict"] == "inconclusive"
    assert _verdict(">= 0.95", [None, float("nan")])["verdict"] == "inconclusive"
    few = _verdict(">= 0.95", [0.96, 0.90])
    assert few["verdict"] == "inconclusive" and few["best_run"] == {"run_id": "r0", "value": 0.96, "passed": True}
    assert _verdict(">= 0.95", [0.90])["verdict"] == "not_supported"  # no run meets it
    assert _verdict(">= 0.95", [0.96, 0.97, 0.965])["verdict"] == "supported"
    assert _verdict(">= 0.95", [0.96, 0.90, 0.93])["verdict"] == "inconclusive"  # CI crosses 0.95
    lucky = _verdict(">= 0.95", [0.951, 0.80, 0.81, 0.80, 0.79, 0.80])  # CI wholly below, one run passes
    assert lucky["verdict"] == "not_supported" and "best run passes" in lucky["reason"]
    assert _verdict("<= 0.01", [0.002, 0.003, 0.0025])["verdict"] == "supported"
    assert _verdict("<= 0.01", [0.002, 0.03, 0.031, 0.032, 0.03, 0.031])["verdict"] == "not_supported"
    assert _verdict("== 1.0", [1.0, 1.0, 1.0])["verdict"] == "supported"
    assert _verdict("== 1.0", [1.0, 0.9, 0.9, 0.9, 0.9, 0.9])["verdict"] == "not_supported"
    body = _verdict(">= 0.95", [0.96, 0.97, 0.965])
    assert body["group"]["n"] == 3 and body["group"]["runs_passing"] == 3 and body["group"]["confidence"] == 0.95
    assert body["criterion"]["criterion"] == ">= 0.95"
