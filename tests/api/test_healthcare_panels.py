"""Healthcare workflow on SQLite and Postgres: safety panels with traffic lights and confusion matrices, hypothesis
verdicts, the experiment dashboard; access without leaks."""
from __future__ import annotations

import io
import json
from typing import Any

import pytest

from services import artifacts, runs
from tests.api.healthcare_support import by_metric, lab, ok, put, refused  # noqa: F401 (lab is a fixture)


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
    panel = by_metric(body["metrics"])
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
