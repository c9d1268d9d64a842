"""POST /api/v1/experiments/compare and GET /api/v1/comparisons/{id} on SQLite and Postgres: the seed's shape,
best experiment, significance, summaries read from SQL, access without leaks, bad input as 400s."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import Comparison
from services import accounts, experiments, metrics, projects, runs
from tests.conftest import PASSWORD

GOOD = [0.91, 0.93, 0.92, 0.94, 0.90]
BAD = [0.71, 0.74, 0.72, 0.70, 0.73]
BAD_TWIN = [0.72, 0.70, 0.74, 0.73, 0.71, 0.725]
URL = "/api/v1/experiments/compare"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    return json.loads(response.get_data(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def _actor(core, username: str):  # noqa: ANN001, ANN202
    return accounts.authenticate(core, username, PASSWORD)


def _experiment(core, actor, project_id: str, name: str, accuracies: list[float]) -> dict:  # noqa: ANN001
    """One run per value: accuracy climbs, spikes to value + 0.05 at step 1 and ends at the value (its last);
    val_loss ends at 1 - value."""
    exp = experiments.create_experiment(core, actor, project_id, name)
    run_ids = []
    for i, value in enumerate(accuracies):
        run = runs.create_run(core, actor, exp["id"], name=f"{name}-{i}")
        ts = 1_700_000_000_000 + i * 1000
        metrics.log_points(core, actor, run["id"], [
            metrics.Point("accuracy", value - 0.2, 0, ts), metrics.Point("accuracy", value + 0.05, 1, ts + 1),
            metrics.Point("accuracy", value, 2, ts + 2), metrics.Point("val_loss", 1.0 - value, 2, ts + 2)])
        run_ids.append(run["id"])
    return {"id": exp["id"], "runs": run_ids}


@pytest.fixture
def lab(core, make_user) -> dict:  # noqa: ANN001
    """alice's project with three experiments: clearly good, bad, and a twin of bad."""
    alice = make_user("alice", team="ml-team", role="editor")
    actor = _actor(core, "alice")
    project = projects.create_project(core, actor, "cmp", team="ml-team")
    exps = {name: _experiment(core, actor, project["id"], name, values)
            for name, values in (("good", GOOD), ("bad", BAD), ("twin", BAD_TWIN))}
    return {"api": alice, "actor": actor, "project_id": project["id"], **exps}


def test_seed_body_answers_the_seed_shape_with_best_and_a_significant_difference(lab) -> None:  # noqa: ANN001
    api, good, bad = lab["api"], lab["good"]["id"], lab["bad"]["id"]
    body = ok(api.post(URL, json={"experiment_ids": [bad, good], "metrics": ["accuracy", "val_loss"],
                                  "visualization": "parallel_coordinates"}), 201)
    cid = body["comparison_id"]
    assert str(uuid.UUID(cid)) == cid
    results = body["results"]
    assert results["best_experiment"] == good and results["visualization_url"] == f"/visualizations/{cid}"
    acc = results["statistical_significance"]["accuracy"]
    assert acc["test"] == "welch" and acc["significant"] is True and 0 <= acc["p_value"] < 0.001
    assert acc["adjusted_p"] >= acc["p_value"]  # Holm across the two metrics
    assert acc["n"] == {good: 5, bad: 5} and acc["means"][good] == pytest.approx(sum(GOOD) / 5)  # last values
    assert acc["effect_size"]["name"] == "cohens_d" and acc["effect_size"]["value"] > 5
    lo, hi = acc["ci_difference"]
    assert 0 < lo < sum(GOOD) / 5 - sum(BAD) / 5 < hi and acc["ci_between"] == [good, bad]
    loss = results["statistical_significance"]["val_loss"]
    assert loss["mode"] == "min" and loss["best_experiment"] == good and loss["significant"] is True
    stats_good = results["experiments"][good]["metrics"]["accuracy"]
    assert stats_good["n"] == 5 and stats_good["best_value"] == 0.94
    assert stats_good["best_run_id"] == lab["good"]["runs"][3]
    assert len(results["runs"]) == 10 and {r["experiment_id"] for r in results["runs"]} == {good, bad}
    assert ok(api.get(f"/api/v1/comparisons/{cid}"))["results"] == results


def test_identical_ish_experiments_are_not_significantly_different(lab) -> None:  # noqa: ANN001
    api, bad, twin = lab["api"], lab["bad"]["id"], lab["twin"]["id"]
    for test in ("welch", "mannwhitney"):
        body = ok(api.post(URL, json={"experiment_ids": [bad, twin], "metrics": ["accuracy"], "test": test}), 201)
        acc = body["results"]["statistical_significance"]["accuracy"]
        assert acc["test"] == test and acc["significant"] is False and acc["p_value"] > 0.5, acc


def test_three_experiments_anova_with_pairwise_holm(lab) -> None:  # noqa: ANN001
    api, good, bad, twin = lab["api"], lab["good"]["id"], lab["bad"]["id"], lab["twin"]["id"]
    for test, omnibus in (("welch", "anova"), ("mannwhitney", "kruskal")):
        body = ok(api.post(URL, json={"experiment_ids": [bad, twin, good], "metrics": ["accuracy"], "test": test}),
                  201)
        acc = body["results"]["statistical_significance"]["accuracy"]
        assert acc["test"] == omnibus and acc["significant"] is True and acc["ranking"][0] == good
        pairs = {frozenset((p["first"], p["second"])): p for p in acc["pairwise"]}
        assert pairs[frozenset((good, bad))]["significant"] is True
        assert pairs[frozenset((good, twin))]["significant"] is True
        assert pairs[frozenset((bad, twin))]["significant"] is False
        assert all(p["adjusted_p"] >= p["p_value"] for p in acc["pairwise"])


def test_summary_mode_alpha_and_deleted_runs(lab, core) -> None:  # noqa: ANN001
    api, good, bad = lab["api"], lab["good"]["id"], lab["bad"]["id"]
    peak = ok(api.post(URL, json={"experiment_ids": [good, bad], "metrics": ["accuracy"], "summary": "max"}), 201)
    means = peak["results"]["statistical_significance"]["accuracy"]["means"]
    assert means[good] == pytest.approx(sum(GOOD) / 5 + 0.05)  # the step-1 spike is each run's max
    flipped = ok(api.post(URL, json={"experiment_ids": [good, bad], "metrics": ["accuracy"],
                                     "mode": {"accuracy": "min"}}), 201)
    assert flipped["results"]["best_experiment"] == bad
    strict = ok(api.post(URL, json={"experiment_ids": [lab["twin"]["id"], bad], "metrics": ["accuracy"],
                                    "alpha": 0.5}), 201)
    assert strict["request"]["alpha"] == 0.5
    runs.delete_run(core, lab["actor"], lab["good"]["runs"][3])
    after = ok(api.post(URL, json={"experiment_ids": [good, bad], "metrics": ["accuracy"]}), 201)
    assert after["results"]["statistical_significance"]["accuracy"]["n"][good] == 4
    assert after["results"]["experiments"][good]["metrics"]["accuracy"]["best_value"] == 0.93


def test_fewer_than_three_runs_warns_and_claims_nothing(lab, core) -> None:  # noqa: ANN001
    api = lab["api"]
    small = _experiment(core, lab["actor"], lab["project_id"], "small", [0.99, 0.98])
    body = ok(api.post(URL, json={"experiment_ids": [small["id"], lab["bad"]["id"]], "metrics": ["accuracy"]}), 201)
    acc = body["results"]["statistical_significance"]["accuracy"]
    assert acc["significant"] is False and acc["p_value"] is None and acc["ci_difference"] is None
    assert any("only 2 value(s)" in w for w in acc["warnings"])
    assert body["results"]["best_experiment"] == small["id"]  # descriptive ranking still holds


def test_experiments_the_caller_cannot_see_answer_404_without_leaking(lab, make_user, admin) -> None:  # noqa: ANN001
    api, good, bad = lab["api"], lab["good"]["id"], lab["bad"]["id"]
    cid = ok(api.post(URL, json={"experiment_ids": [good, bad], "metrics": ["accuracy"]}), 201)["comparison_id"]
    bob = make_user("bob", team="other-team", role="editor")
    hidden = bob.post(URL, json={"experiment_ids": [good, bad], "metrics": ["accuracy"]})
    missing = bob.post(URL, json={"experiment_ids": [str(uuid.uuid4()), bad], "metrics": ["accuracy"]})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["error"]["field"] == missing.get_json()["error"]["field"] == "experiment_ids[0]"
    assert bob.get(f"/api/v1/comparisons/{cid}").status_code == 404
    unknown = bob.get(f"/api/v1/comparisons/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    assert ok(admin.get(f"/api/v1/comparisons/{cid}"))["comparison_id"] == cid
    viewer = make_user("vera", team="ml-team", role="viewer")
    assert ok(viewer.get(f"/api/v1/comparisons/{cid}"))["comparison_id"] == cid


BAD_BODIES: list[tuple[dict, str]] = [
    ({"experiment_ids": []}, "experiment_ids"),
    ({"experiment_ids": ["GOOD"]}, "experiment_ids"),
    ({"experiment_ids": ["GOOD", "GOOD"]}, "experiment_ids[1]"),
    ({"experiment_ids": "GOOD"}, "experiment_ids"),
    ({"experiment_ids": ["GOOD", 5]}, "experiment_ids[1]"),
    ({"metrics": []}, "metrics"),
    ({"metrics": ["accuracy", "accuracy"]}, "metrics[1]"),
    ({"metrics": ["no_such_metric"]}, "metrics[0]"),
    ({"metrics": ["accuracy", "no_such_metric"]}, "metrics[1]"),
    ({"metrics": ["bad key!"]}, "metrics[0]"),
    ({"metrics": None}, "metrics"),
    ({"test": "ttest"}, "test"),
    ({"summary": "mean"}, "summary"),
    ({"visualization": "pie"}, "visualization"),
    ({"mode": {"accuracy": "up"}}, "mode.accuracy"),
    ({"mode": {"f1_score": "max"}}, "mode.f1_score"),
    ({"alpha": 0}, "alpha"), ({"alpha": 0.6}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"alpha": "0.05"}, "alpha"),
    ({"alpha": True}, "alpha"), ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
    ({"extra": 1}, "extra"),
]


def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(lab, core) -> None:  # noqa: ANN001
    good, bad = lab["good"]["id"], lab["bad"]["id"]
    wrong = []
    for patch, field in BAD_BODIES:
        body = {"experiment_ids": [good, bad], "metrics": ["accuracy"], **patch}
        ids = body["experiment_ids"]
        body["experiment_ids"] = [good if e == "GOOD" else e for e in ids] if isinstance(ids, list) else good
        response = lab["api"].post(URL, json=body)
        error = (response.get_json() or {}).get("error") or {}
        if response.status_code != 400 or error.get("field") != field or not error.get("message"):
            wrong.append((patch, response.status_code, error))
    assert not wrong, wrong
    with core.sessions() as session:
        assert session.execute(select(func.count(Comparison.id))).scalar_one() == 0
