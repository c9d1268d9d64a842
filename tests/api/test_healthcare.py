"""Healthcare workflow on SQLite and Postgres: templates, safety gates judged at read time, safety panels with
traffic lights and confusion matrices, hypothesis verdicts, the experiment dashboard; access without leaks."""
from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import event

from services import accounts, artifacts, metrics, projects, runs
from tests.conftest import PASSWORD

TS = 1_700_000_000_000
PARAMS = {"algorithm": "MultinomialNB", "training_data": "s3://data/train.csv", "alpha": 0.1}
SEED_EXPERIMENT = {  # the seed's healthcare_experiment, as a template body
    "name": "healthcare-classifier-optimization", "type": "classification", "domain": "healthcare",
    "metrics": ["accuracy", "f1_score", "precision", "recall", "crisis_detection_rate", "response_quality_score"],
    "validation_criteria": {"accuracy": ">= 0.95", "crisis_detection_rate": ">= 0.99"},
    "model_registry_integration": {"auto_register": True, "promotion_criteria": "validation_passed"}}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    return json.loads(response.get_data(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def refused(response: Any, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    error = response.get_json()["error"]
    if field is not None:
        assert error.get("field") == field, error
    return error


def put(api: Any, url: str, body: Any) -> Any:
    """conftest's Api has no put: send it through its Flask client with the same token."""
    return api.client.put(url, json=body, headers=api._headers())


class Lab:
    """alice's project with an experiment made from the built-in healthcare template."""

    def __init__(self, core, api) -> None:  # noqa: ANN001
        self.core, self.api = core, api
        self.actor = accounts.authenticate(core, "alice", PASSWORD)
        self.project_id = projects.create_project(core, self.actor, "health", team="ml-team")["id"]
        self.exp = ok(api.post("/api/v1/experiments/from-template", json={
            "project_id": self.project_id, "template_id": "healthcare-classification", "name": "hc"}), 201)
        self.exp_id = self.exp["id"]

    def run(self, name: str, values: dict[str, float], params: dict | None = None, step: int = 0,
            exp_id: str | None = None) -> str:
        run_id = runs.create_run(self.core, self.actor, exp_id or self.exp_id, name=name,
                                 parameters=PARAMS if params is None else params)["id"]
        if values:
            self.log(run_id, values, step)
        return run_id

    def log(self, run_id: str, values: dict[str, float], step: int) -> None:
        metrics.log_points(self.core, self.actor, run_id,
                           [metrics.Point(k, v, step, TS + step) for k, v in values.items()])


@pytest.fixture
def lab(core, make_user) -> Lab:  # noqa: ANN001
    return Lab(core, make_user("alice", team="ml-team", role="editor"))


def _by_metric(items: list[dict]) -> dict[str, dict]:
    return {item["metric"]: item for item in items}


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
    lights = {rid: _by_metric(ok(lab.api.get(f"/api/v1/runs/{rid}/safety"))["metrics"])["crisis_detection_rate"]
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
    assert sum("metric_series" in s for s in statements) == 2  # one read of summaries per endpoint


def test_a_plain_experiment_naming_the_template_uses_its_criteria(lab) -> None:  # noqa: ANN001
    exp = ok(lab.api.post("/api/v1/experiments", json={"project_id": lab.project_id, "name": "plain",
                                                       "template_id": "healthcare-classification"}), 201)
    lab.run("r", {"accuracy": 0.5}, exp_id=exp["id"])
    body = ok(lab.api.get(f"/api/v1/experiments/{exp['id']}/gates"))
    assert body["criteria_source"] == "template" and body["runs"][0]["verdict"] == "failed"
    bare = ok(lab.api.post("/api/v1/experiments", json={"project_id": lab.project_id, "name": "bare"}), 201)
    lab.run("r", {"accuracy": 0.5}, exp_id=bare["id"])
    assert ok(lab.api.get(f"/api/v1/experiments/{bare['id']}/gates"))["counts"]["no_criteria"] == 1


# ---------------------------------------------------------------- safety panel

SEED_SAFETY = {"accuracy": 0.952, "crisis_detection_rate": 0.995, "response_appropriateness": 0.887,
               "medical_disclaimer_compliance": 1.0, "empathy_score": 0.734, "false_crisis_rate": 0.002,
               "missed_crisis_rate": 0.005, "response_safety_score": 0.956}


def test_safety_panel_lights_thresholds_and_distribution(lab) -> None:  # noqa: ANN001
    seed = lab.run("seed", SEED_SAFETY)
    lab.run("worse", {**SEED_SAFETY, "missed_crisis_rate": 0.03, "empathy_score": 0.60,
                      "medical_disclaimer_compliance": 0.98})
    lab.run("blank", {})
    body = ok(lab.api.get(f"/api/v1/runs/{seed}/safety"))
    panel = _by_metric(body["metrics"])
    assert set(panel) == {"crisis_detection_rate", "missed_crisis_rate", "false_crisis_rate",
                          "response_appropriateness", "response_safety_score", "medical_disclaimer_compliance",
                          "empathy_score"}
    assert {m: p["status"] for m, p in panel.items()} == {
        "crisis_detection_rate": "green", "missed_crisis_rate": "green", "false_crisis_rate": "green",
        "response_appropriateness": "green", "empathy_score": "green", "medical_disclaimer_compliance": "green",
        "response_safety_score": "amber"}  # 0.956 passes >= 0.95 by less than 2%
    assert panel["missed_crisis_rate"]["threshold"] == 0.01 and panel["missed_crisis_rate"]["op"] == "<="
    assert panel["missed_crisis_rate"]["threshold_source"] == "default"
    assert panel["crisis_detection_rate"]["group"] == "healthcare_metrics"
    assert panel["false_crisis_rate"]["group"] == "safety_metrics"
    assert body["overall"] == "amber" and body["counts"] == {"green": 6, "amber": 1, "red": 0, "grey": 0}
    assert body["confusion_matrix"] is None
    dist = body["experiment"]["distribution"]
    assert body["experiment"]["run_count"] == 3
    assert dist["missed_crisis_rate"]["n"] == 2 and dist["missed_crisis_rate"]["min"] == 0.005
    assert dist["missed_crisis_rate"]["max"] == 0.03 and dist["missed_crisis_rate"]["median"] == pytest.approx(0.0175)
    assert dist["missed_crisis_rate"]["statuses"] == {"green": 1, "amber": 0, "red": 1, "grey": 1}
    exp_view = ok(lab.api.get(f"/api/v1/experiments/{lab.exp_id}/safety"))
    assert exp_view["distribution"] == dist
    worse = next(r for r in exp_view["runs"] if r["run_name"] == "worse")
    assert worse["overall"] == "red" and worse["lights"]["medical_disclaimer_compliance"] == "red"
    assert next(r for r in exp_view["runs"] if r["run_name"] == "blank")["overall"] == "grey"


def test_confusion_matrix_from_metrics_or_from_an_artifact(lab) -> None:  # noqa: ANN001
    from_metrics = lab.run("cm-metrics", {"confusion_matrix/tp": 95, "confusion_matrix/fn": 5,
                                          "confusion_matrix/fp": 10, "confusion_matrix/tn": 890})
    cm = ok(lab.api.get(f"/api/v1/runs/{from_metrics}/safety"))["confusion_matrix"]
    assert cm["source"] == "metrics" and cm["matrix"] == [[890, 10], [5, 95]]
    assert cm["derived"]["sensitivity"] == pytest.approx(0.95) and cm["derived"]["miss_rate"] == pytest.approx(0.05)
    assert cm["derived"]["specificity"] == pytest.approx(890 / 900) and cm["derived"]["total"] == 1000
    stored = lab.run("cm-artifact", {})
    artifacts.upload(lab.core, lab.actor, stored, "confusion_matrix.json",
                     io.BytesIO(json.dumps({"labels": ["ok", "crisis"], "matrix": [[80, 2], [1, 17]]}).encode()),
                     type="confusion_matrix")
    cm = ok(lab.api.get(f"/api/v1/runs/{stored}/safety"))["confusion_matrix"]
    assert cm["source"] == "artifact" and cm["labels"] == ["ok", "crisis"] and cm["matrix"] == [[80, 2], [1, 17]]
    assert cm["derived"]["sensitivity"] == pytest.approx(17 / 18)
    broken = lab.run("cm-broken", {})
    artifacts.upload(lab.core, lab.actor, broken, "confusion_matrix.json", io.BytesIO(b"{not json"),
                     type="confusion_matrix")
    cm = ok(lab.api.get(f"/api/v1/runs/{broken}/safety"))["confusion_matrix"]
    assert cm["matrix"] is None and "no readable" in cm["error"]
    in_metadata = lab.run("cm-meta", {})
    artifacts.register(lab.core, lab.actor, in_metadata, "eval/confusion_matrix.png", "s3://b/cm.png",
                       type="image", metadata={"tp": 9, "fp": 1, "fn": 0, "tn": 90})
    cm = ok(lab.api.get(f"/api/v1/runs/{in_metadata}/safety"))["confusion_matrix"]
    assert cm["source"] == "artifact_metadata" and cm["cells"] == {"tp": 9, "fp": 1, "fn": 0, "tn": 90}


# ---------------------------------------------------------------- hypothesis

def test_hypothesis_supported_not_supported_and_inconclusive(lab) -> None:  # noqa: ANN001
    url = f"/api/v1/experiments/{lab.exp_id}/hypothesis"
    assert ok(lab.api.get(url))["verdict"] == "inconclusive"  # accuracy >= 0.95 from the template, no runs yet
    first = lab.run("a", {"accuracy": 0.96})
    body = ok(lab.api.get(url))
    assert body["verdict"] == "inconclusive" and body["best_run"]["run_id"] == first  # one run: no CI yet
    lab.run("b", {"accuracy": 0.97})
    lab.run("c", {"accuracy": 0.965})
    body = ok(lab.api.get(url))
    assert body["verdict"] == "supported" and body["source"] == "settings"
    lo, hi = body["group"]["ci_mean"]
    assert 0.95 < lo < 0.965 < hi and body["group"]["n"] == 3 and body["best_run"]["value"] == 0.97
    lab.run("d", {"accuracy": 0.90})
    assert ok(lab.api.get(url))["verdict"] == "inconclusive"  # the CI now crosses 0.95
    body = ok(put(lab.api, url, {"metric": "accuracy", "op": ">=", "threshold": 0.99}))
    assert body["verdict"] == "not_supported" and "no run meets" in body["reason"]
    refused(put(lab.api, url, {"metric": "accuracy", "op": "~", "threshold": 0.9}), 400, "op")
    refused(put(lab.api, url, {"metric": "accuracy", "op": ">=", "threshold": "high"}), 400, "threshold")
    refused(put(lab.api, url, {"metric": "bad metric!", "op": ">=", "threshold": 1}), 400,
            "hypothesis_criterion.metric")
    assert lab.api.delete(url).status_code == 204
    body = ok(lab.api.get(url))
    assert body["verdict"] == "inconclusive" and body["criterion"] is None


def test_the_seeds_hypothesis_text_is_read_when_no_criterion_is_set(lab) -> None:  # noqa: ANN001
    exp = ok(lab.api.post("/api/v1/experiments", json={
        "project_id": lab.project_id, "name": "baseline-model-v1",
        "hypothesis": "TF-IDF + MultinomialNB will achieve >95% accuracy"}), 201)
    for i, value in enumerate((0.91, 0.92, 0.915)):
        lab.run(f"r{i}", {"accuracy": value}, exp_id=exp["id"])
    body = ok(lab.api.get(f"/api/v1/experiments/{exp['id']}/hypothesis"))
    assert body["source"] == "hypothesis_text" and body["criterion"]["criterion"] == "> 0.95"
    assert body["verdict"] == "not_supported"


# ---------------------------------------------------------------- dashboard and access

def test_dashboard_has_runs_by_status_best_runs_latest_values_and_gate_counts(lab) -> None:  # noqa: ANN001
    a = lab.run("a", {"accuracy": 0.96, "crisis_detection_rate": 0.991})
    b = lab.run("b", {"accuracy": 0.93, "crisis_detection_rate": 0.999})
    lab.log(a, {"accuracy": 0.97}, step=5)
    runs.update_run(lab.core, lab.actor, b, status="FINISHED")
    body = ok(lab.api.get(f"/api/v1/experiments/{lab.exp_id}/dashboard"))
    assert body["runs"]["total"] == 2 and body["runs"]["by_status"]["RUNNING"] == 1
    assert body["runs"]["by_status"]["FINISHED"] == 1 and body["runs"]["by_status"]["FAILED"] == 0
    assert body["best_runs"]["accuracy"] == {"criterion": ">= 0.95", "run_id": a, "run_name": "a", "value": 0.97,
                                             "passed": True}
    assert body["best_runs"]["crisis_detection_rate"]["run_id"] == b
    assert body["latest"]["accuracy"]["value"] == 0.97 and body["latest"]["accuracy"]["step"] == 5
    assert body["gates"]["counts"]["passed"] == 1 and body["gates"]["counts"]["failed"] == 1
    assert body["hypothesis"]["criterion"]["metric"] == "accuracy"
    assert body["experiment"]["validation_criteria"] == {"accuracy": ">= 0.95", "crisis_detection_rate": ">= 0.99"}
    assert isinstance(body["version"], int)


def test_another_team_gets_404_on_every_endpoint(lab, make_user) -> None:  # noqa: ANN001
    run_id = lab.run("r", {"accuracy": 0.96})
    bob = make_user("bob", team="other-team", role="editor")
    for url in (f"/api/v1/runs/{run_id}/gates", f"/api/v1/runs/{run_id}/safety"):
        refused(bob.get(url), 404, "run_id")
    for suffix in ("gates", "safety", "hypothesis", "dashboard"):
        refused(bob.get(f"/api/v1/experiments/{lab.exp_id}/{suffix}"), 404, "experiment_id")
    refused(put(bob, f"/api/v1/experiments/{lab.exp_id}/hypothesis",
                {"metric": "accuracy", "op": ">=", "threshold": 0.5}), 404, "experiment_id")
    refused(bob.delete(f"/api/v1/experiments/{lab.exp_id}/hypothesis"), 404, "experiment_id")
    vera = make_user("vera", team="ml-team", role="viewer")
    assert ok(vera.get(f"/api/v1/experiments/{lab.exp_id}/dashboard"))["runs"]["total"] == 1
    refused(vera.delete(f"/api/v1/experiments/{lab.exp_id}/hypothesis"), 403)
    for url in ("/api/v1/runs/nope/gates", "/api/v1/runs/nope/safety", "/api/v1/experiments/nope/dashboard",
                "/api/v1/experiments/" + "x" * 5000 + "/gates"):
        assert lab.api.get(url).status_code == 404


@pytest.mark.parametrize("method, url, body", [
    ("post", "/api/v1/templates", []),
    ("post", "/api/v1/templates", {"name": ""}),
    ("post", "/api/v1/templates", {"name": "x", "metrics": "accuracy"}),
    ("post", "/api/v1/templates", {"name": "x", "model_registry_integration": [1]}),
    ("post", "/api/v1/templates", {"name": "x", "validation": {"required_accuracy": 1e400}}),
    ("post", "/api/v1/experiments/from-template", {"template_id": "healthcare-classification", "name": "x"}),
    ("post", "/api/v1/experiments/from-template", {"project_id": 5, "template_id": "t", "name": "x"}),
    ("post", "/api/v1/experiments/from-template", {"project_id": "p", "template_id": "t" * 101, "name": "x"}),
    ("put", "/api/v1/experiments/{exp}/hypothesis", {"metric": "accuracy", "op": ">=", "threshold": 1,
                                                     "summary": "mean"}),
    ("put", "/api/v1/experiments/{exp}/hypothesis", None),
    ("get", "/api/v1/experiments/{exp}/gates?summary=", None),
])
def test_bad_input_is_a_400_never_a_500(lab, method: str, url: str, body: Any) -> None:  # noqa: ANN001
    url = url.format(exp=lab.exp_id)
    if method == "put":
        response = put(lab.api, url, body)
    else:
        response = lab.api.get(url) if method == "get" else getattr(lab.api, method)(url, json=body)
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True)[:400])
    assert response.get_json()["error"]["code"] in ("validation_error", "invalid_json")
