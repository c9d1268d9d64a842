"""MLflow's search grammar (pure parsing): the clauses and orderings it yields, and what it refuses."""
from __future__ import annotations

import pytest

from services.errors import Invalid
from services.search_filter import Clause, OrderKey, like_to_glob, parse_filter, parse_order_by


def test_clauses_of_every_entity_and_operator() -> None:
    text = ("metrics.acc > 0.9 AND params.lr = '0.1' and tags.`mlflow.user` LIKE 'a%' AND "
            "attributes.run_id IN ('a', \"b\") AND metrics.\"val loss\" <= -1e-3 AND tags.x IS NOT NULL AND "
            "param.a-b != 'it''s' AND attr.status NOT IN ('FAILED') AND tag.t ILIKE '%X%' AND metric.m <> 2")
    assert parse_filter(text) == [
        Clause("metric", "acc", ">", 0.9), Clause("param", "lr", "=", "0.1"),
        Clause("tag", "mlflow.user", "LIKE", "a%"), Clause("attribute", "run_id", "IN", ("a", "b")),
        Clause("metric", "val loss", "<=", -0.001), Clause("tag", "x", "IS NOT NULL", None),
        Clause("param", "a-b", "!=", "it's"), Clause("attribute", "status", "NOT IN", ("FAILED",)),
        Clause("tag", "t", "ILIKE", "%X%"), Clause("metric", "m", "!=", 2.0)]


def test_dotted_keys_and_empty_filters() -> None:
    assert parse_filter("metrics.val.loss < 1") == [Clause("metric", "val.loss", "<", 1.0)]
    assert parse_filter("") == [] and parse_filter(None) == [] and parse_filter("   ") == []
    assert parse_filter("name LIKE 'x%'", default_entity="attribute") == [Clause("attribute", "name", "LIKE", "x%")]


@pytest.mark.parametrize("bad", ["metrics.acc > 1 OR metrics.b < 2", "acc > 1", "metrics.acc = 'x' extra",
                                 "metrics.acc >", "metrics.acc ~ 1", "params.a IN 'x'", "params.a IN ('x' 'y')",
                                 "metrics. > 1", "metrics.a > 1 AND", "tags.a = 'unterminated"])
def test_refused_filters(bad: str) -> None:
    with pytest.raises(Invalid):
        parse_filter(bad)


def test_order_by() -> None:
    assert parse_order_by(["metrics.acc DESC", "params.`lr`", "attributes.start_time asc"]) == [
        OrderKey("metric", "acc", False), OrderKey("param", "lr", True), OrderKey("attribute", "start_time", True)]
    for bad in (["metrics.acc DOWN"], [""], ["acc"]):
        with pytest.raises(Invalid):
            parse_order_by(bad)


def test_like_to_glob_is_case_sensitive_like() -> None:
    assert like_to_glob("a%b_c") == "a*b?c"
    assert like_to_glob("x*y?[z]") == "x[*]y[?][[]z]"
