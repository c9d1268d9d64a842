"""Healthcare workflow on SQLite and Postgres: templates (built-in, custom, from-template) and safety gates judged at
read time."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.api.healthcare_support import SEED_EXPERIMENT, by_metric, lab, ok, refused  # noqa: F401 (lab is a fixture)


# ---------------------------------------------------------------- templates

def test_the_seed_template_is_built_in_with_its_criteria(lab) -> None:  # noqa: ANN001
    items = ok(lab.api.get("/api/v1/templates"))["items"]
    builtin = {t["id"]: t for t in items if t["builtin"]}
    hc = builtin["healthcare-classification"]
    assert hc["name"] == "Healthcare Classification Experiment"
    assert hc["parameters"] == {"required": ["algorithm", "training_data"],
                                "optional": ["max_features", "alpha", "test_size"]}
    assert hc["metrics"] == ["accuracy", "f1_score", "precision", "recall", "crisis_detection_rate",
                             "response_quality"]
    assert hc["validation_criteria"] == {"accuracy": ">= 0.95", "crisis_detection_rate": ">= 0.99"}
    assert hc["artifacts"] == ["model", "preprocessor", "confusion_matrix"]
    assert ok(lab.api.get("/api/v1/templates/healthcare-classification")) == hc
    assert ok(lab.api.get("/api/v1/templates?domain=retail"))["items"] == []
    refused(lab.api.get("/api/v1/templates/no-such-template"), 404, "template_id")


def test_custom_templates_take_both_seed_shapes_and_stay_in_their_team(lab, make_user) -> None:  # noqa: ANN001
    bob = make_user("bob", team="other-team", role="editor")
    vera = make_user("vera", team="ml-team", role="viewer")
    seed_shape = ok(lab.api.post("/api/v1/templates", json=SEED_EXPERIMENT), 201)
    assert seed_shape["validation_criteria"] == SEED_EXPERIMENT["validation_criteria"]
    assert seed_shape["team"] == "ml-team" and seed_shape["builtin"] is False
    template_shape = ok(lab.api.post("/api/v1/templates", json={
        "name": "strict", "parameters": {"required": ["algorithm"], "optional": []}, "metrics": ["accuracy"],
        "validation": {"required_accuracy": 0.97, "max_missed_crisis_rate": 0.005},
        "validation_criteria": {"f1_score": ">0.9"}, "artifacts": ["model"]}), 201)
    assert template_shape["validation_criteria"] == {"accuracy": ">= 0.97", "missed_crisis_rate": "<= 0.005",
                                                     "f1_score": "> 0.9"}
    assert {t["id"] for t in ok(lab.api.get("/api/v1/templates"))["items"]} >= {seed_shape["id"],
                                                                                template_shape["id"]}
    assert ok(vera.get(f"/api/v1/templates/{seed_shape['id']}"))["name"] == SEED_EXPERIMENT["name"]
    refused(bob.get(f"/api/v1/templates/{seed_shape['id']}"), 404, "template_id")
    assert not any(not t["builtin"] for t in ok(bob.get("/api/v1/templates"))["items"])
    refused(vera.post("/api/v1/templates", json={"name": "mine"}), 403)
    refused(lab.api.post("/api/v1/templates", json=SEED_EXPERIMENT), 409, "name")
    refused(lab.api.post("/api/v1/templates", json={"name": "t", "team": "other-team"}), 404, "team")


@pytest.mark.parametrize("body, field", [
    ({"validation_criteria": {"accuracy": "at least 0.95"}}, "validation_criteria.accuracy"),
    ({"validation_criteria": {"accuracy": "=> 0.95"}}, "validation_criteria.accuracy"),
    ({"validation_criteria": {"accuracy": ">= nan"}}, "validation_criteria.accuracy"),
    ({"validation_criteria": {"accuracy": 0.95}}, "validation_criteria.accuracy"),
    ({"validation": {"accuracy": 0.95}}, "validation.accuracy"),
    ({"validation": {"required_accuracy": "0.95"}}, "validation.required_accuracy"),
    ({"parameters": {"required": "algorithm"}}, "parameters.required"),
    ({"parameters": {"needed": ["a"]}}, "parameters"),
    ({"parameters": {"required": ["a"], "optional": ["a"]}}, "parameters.optional"),
    ({"metrics": ["ok", "not ok!"]}, "metrics[1]"),
    ({"hypothesis_criterion": {"metric": "accuracy", "op": "=>", "threshold": 0.9}}, "hypothesis_criterion.op"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_template_bodies_are_400s_naming_the_field(lab, body: dict, field: str) -> None:  # noqa: ANN001
    refused(lab.api.post("/api/v1/templates", json={"name": "t", **body}), 400, field)


def test_from_template_copies_type_metrics_criteria_and_hypothesis(lab, make_user) -> None:  # noqa: ANN001
    exp = ok(lab.api.get(f"/api/v1/experiments/{lab.exp_id}"))
    assert exp["template_id"] == "healthcare-classification" and exp["type"] == "classification"
    assert exp["domain"] == "healthcare" and "crisis_detection_rate" in exp["metrics"]
    assert exp["validation_criteria"] == {"accuracy": ">= 0.95", "crisis_detection_rate": ">= 0.99"}
    assert lab.exp["hypothesis_criterion"] == {"metric": "accuracy", "op": ">=", "threshold": 0.95,
                                               "summary": "last"}
    custom = ok(lab.api.post("/api/v1/experiments/from-template", json={
        "project_id": lab.project_id, "template_id": "healthcare-classification", "name": "hc-strict",
        "validation_criteria": {"accuracy": ">= 0.97", "f1_score": ">= 0.9"},
        "hypothesis_criterion": {"metric": "f1_score", "op": ">", "threshold": 0.9}}), 201)
    assert custom["validation_criteria"] == {"accuracy": ">= 0.97", "crisis_detection_rate": ">= 0.99",
                                             "f1_score": ">= 0.9"}
    assert ok(lab.api.get(f"/api/v1/experiments/{custom['id']}/hypothesis"))["criterion"]["metric"] == "f1_score"
    body = {"project_id": lab.project_id, "template_id": "healthcare-classification", "name": "x"}
    refused(lab.api.post("/api/v1/experiments/from-template", json={**body, "template_id": "nope"}), 404,
            "template_id")
    refused(lab.api.post("/api/v1/experiments/from-template", json={
        **body, "validation_criteria": {"accuracy": "~0.9"}}), 400, "validation_criteria.accuracy")
    refused(lab.api.post("/api/v1/experiments/from-template", json={**body, "name": "hc"}), 409, "name")
    bob = make_user("bob", team="other-team", role="editor")
    refused(bob.post("/api/v1/experiments/from-template", json=body), 404, "project_id")


# ---------------------------------------------------------------- gates

def test_each_run_passes_fails_or_is_incomplete_and_lights_match(lab) -> None:  # noqa: ANN001
    good = lab.run("good", {"accuracy": 0.96, "crisis_detection_rate": 0.997})
    bad = lab.run("bad", {"accuracy": 0.96, "crisis_detection_rate": 0.97})
    partial = lab.run("partial", {"accuracy": 0.96})
    body = ok(lab.api.get(f"/api/v1/experiments/{lab.exp_id}/gates"))
    verdicts = {r["run_name"]: r["verdict"] for r in body["runs"]}
    assert verdicts == {"good": "passed", "bad": "failed", "partial": "incomplete"}
    assert body["counts"] == {"total": 3, "passed": 1, "failed": 1, "incomplete": 1, "no_criteria": 0,
                              "flagged": 3}  # none logs every metric the template lists
    assert body["criteria"] == {"accuracy": ">= 0.95", "crisis_detection_rate": ">= 0.99"}
    one = ok(lab.api.get(f"/api/v1/runs/{bad}/gates"))
    crit = {c["metric"]: c for c in one["criteria"]}
    assert one["verdict"] == "failed" and crit["accuracy"]["status"] == "passed"
    assert crit["crisis_detection_rate"] == {"metric": "crisis_detection_rate", "op": ">=", "threshold": 0.99,
                                             "criterion": ">= 0.99", "value": 0.97, "status": "failed",
                                             "passed": False, "margin": pytest.approx(-0.02)}
    missing = {c["metric"]: c for c in ok(lab.api.get(f"/api/v1/runs/{partial}/gates"))["criteria"]}
    assert missing["crisis_detection_rate"]["status"] == "missing" and missing["crisis_detection_rate"]["value"] is None
    lights = {rid: by_metric(ok(lab.api.get(f"/api/v1/runs/{rid}/safety"))["metrics"])["crisis_detection_rate"]
              for rid in (good, bad, partial)}
    assert [lights[r]["status"] for r in (good, bad, partial)] == ["green", "red", "grey"]
    assert lights[good]["threshold"] == 0.99 and lights[good]["threshold_source"] == "criteria"


def test_the_verdict_flips_when_a_new_metric_value_arrives(lab) -> None:  # noqa: ANN001
    run_id = lab.run("r", {"accuracy": 0.90, "crisis_detection_rate": 0.995})
    assert ok(lab.api.get(f"/api/v1/runs/{run_id}/gates"))["verdict"] == "failed"
    lab.log(run_id, {"accuracy": 0.955}, step=1)
    assert ok(lab.api.get(f"/api/v1/runs/{run_id}/gates"))["verdict"] == "passed"
    assert ok(lab.api.get(f"/api/v1/experiments/{lab.exp_id}/gates"))["counts"]["passed"] == 1
    lab.log(run_id, {"crisis_detection_rate": 0.98}, step=2)
    assert ok(lab.api.get(f"/api/v1/runs/{run_id}/gates"))["verdict"] == "failed"
    best = ok(lab.api.get(f"/api/v1/runs/{run_id}/gates?summary=best"))  # max of each >= metric
    assert best["verdict"] == "passed" and best["summary"] == "best"
    refused(lab.api.get(f"/api/v1/runs/{run_id}/gates?summary=median"), 400, "summary")


def test_a_run_missing_a_required_parameter_or_listed_metric_is_flagged(lab) -> None:  # noqa: ANN001
    all_metrics = {m: 0.99 for m in lab.exp["metrics"]}
    complete = lab.run("complete", all_metrics)
    no_data = lab.run("no-data", all_metrics, params={"algorithm": "SVM"})
    body = ok(lab.api.get(f"/api/v1/experiments/{lab.exp_id}/gates"))
    flags = {r["run_name"]: (r["flagged"], r["flags"]) for r in body["runs"]}
    assert flags["complete"] == (False, [])
    assert flags["no-data"] == (True, [{"kind": "missing_parameter", "name": "training_data"}])
    assert body["required_parameters"] == ["algorithm", "training_data"]
    assert ok(lab.api.get(f"/api/v1/runs/{complete}/gates"))["flags"] == []
    few = lab.run("few", {"accuracy": 0.99, "crisis_detection_rate": 0.999})
    few_flags = ok(lab.api.get(f"/api/v1/runs/{few}/gates"))["flags"]
    assert {f["name"] for f in few_flags} == {"f1_score", "precision", "recall", "response_quality"}
    assert ok(lab.api.get(f"/api/v1/runs/{no_data}/gates"))["verdict"] == "passed"  # flags do not change verdicts


AUTH_TABLES = ("api_tokens", "memberships", "FROM users", "project_shares")


def test_experiment_gates_read_a_fixed_number_of_queries_whatever_the_run_count(lab) -> None:  # noqa: ANN001
    engine = lab.core.sessions.kw["bind"]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if not any(table in statement for table in AUTH_TABLES):  # the token cache may expire on a slow machine
            statements.append(statement)

    def measure() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            ok(lab.api.get(f"/api/v1/experiments/{lab.exp_id}/gates"))
            ok(lab.api.get(f"/api/v1/experiments/{lab.exp_id}/dashboard"))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    lab.run("r0", {"accuracy": 0.96, "crisis_detection_rate": 0.995})
    few = measure()
    for i in range(1, 8):
        lab.run(f"r{i}", {"accuracy": 0.9 + i / 100, "crisis_detection_rate": 0.995})
    assert measure() == few
    # gates: one read of summaries; dashboard: one read of summaries and one of each metric's latest value
    assert sum("metric_series" in s for s in statements) == 3


def test_a_plain_experiment_naming_the_template_uses_its_criteria(lab) -> None:  # noqa: ANN001
    exp = ok(lab.api.post("/api/v1/experiments", json={"project_id": lab.project_id, "name": "plain",
                                                       "template_id": "healthcare-classification"}), 201)
    lab.run("r", {"accuracy": 0.5}, exp_id=exp["id"])
    body = ok(lab.api.get(f"/api/v1/experiments/{exp['id']}/gates"))
    assert body["criteria_source"] == "template" and body["runs"][0]["verdict"] == "failed"
    bare = ok(lab.api.post("/api/v1/experiments", json={"project_id": lab.project_id, "name": "bare"}), 201)
    lab.run("r", {"accuracy": 0.5}, exp_id=bare["id"])
    assert ok(lab.api.get(f"/api/v1/experiments/{bare['id']}/gates"))["counts"]["no_criteria"] == 1
