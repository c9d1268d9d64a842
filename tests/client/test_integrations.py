"""Best run (server SQL + client), runs_dataframe, model-promotion hooks against a local registry, feature usage;
on SQLite and on Postgres (the best-run query is SQL over metric_series)."""
from __future__ import annotations

from typing import Iterator

import pytest

import experiment_tracker
from experiment_tracker import Tracker, TrackerError
from experiment_tracker.promotion import registry_endpoint
from tests.client.server import ServerProcess
from tests.support import Registry, fresh_pg_database, registry  # noqa: F401 (registry is a fixture)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        proc = ServerProcess(data_dir).start()
        yield proc
        proc.stop()
        return
    with fresh_pg_database() as url:
        proc = ServerProcess(data_dir, DATABASE_URL=url).start()
        yield proc
        proc.stop()


def finished_run(tracker: Tracker, experiment_id: str, name: str, series: dict[str, list[float]],
                 params: dict | None = None) -> str:
    with tracker.start_run(experiment_id, name=name, parameters=params or {}) as run:
        for key, values in series.items():
            for step, value in enumerate(values):
                run.log_metrics({key: value}, step=step)
    return run.id


@pytest.fixture
def three_runs(tracker: Tracker, experiment: dict) -> dict[str, str]:
    eid = experiment["id"]
    return {"steady": finished_run(tracker, eid, "steady", {"accuracy": [0.90, 0.93], "loss": [0.5, 0.3]},
                                   {"alpha": 0.1, "algorithm": "nb"}),
            "peaked": finished_run(tracker, eid, "peaked", {"accuracy": [0.97, 0.80], "loss": [0.2, 0.6]},
                                   {"alpha": 1, "algorithm": "svm"}),
            "late": finished_run(tracker, eid, "late", {"accuracy": [0.50, 0.95]}, {"alpha": 0.5})}


def test_get_best_run_ranks_a_summary_of_the_metric(tracker: Tracker, experiment: dict,
                                                    three_runs: dict[str, str]) -> None:
    eid = experiment["id"]
    best = tracker.get_best_run(experiment_id=eid, metric="accuracy", mode="max")
    assert best.id == three_runs["late"] and best.best == {"metric": "accuracy", "mode": "max", "summary": "last",
                                                           "value": 0.95}
    assert best.metrics == {"accuracy": 0.95} and best.parameters == {"alpha": "0.5"}
    assert tracker.get_best_run(eid, "accuracy", mode="max", summary="max").id == three_runs["peaked"]
    assert tracker.get_best_run(eid, "loss", mode="min").id == three_runs["steady"]
    assert tracker.get_best_run(eid, "loss", mode="minimize", summary="max").id == three_runs["steady"]
    assert tracker.get_best_run(eid, "f1_score") is None
    with pytest.raises(TrackerError) as caught:
        tracker.get_best_run(eid, "accuracy", mode="sideways")
    assert caught.value.status == 400 and caught.value.field == "mode"


def test_best_run_is_permission_checked(server: ServerProcess, experiment: dict, three_runs: dict[str, str],
                                        http) -> None:
    server.cli("users", "create", "outsider", "--password", "outsider-password-1")
    outsider = Tracker(server.url, username="outsider", password="outsider-password-1", capture_environment=False)
    try:
        with pytest.raises(TrackerError) as caught:
            outsider.get_best_run(experiment["id"], "accuracy")
        assert caught.value.status == 404 and caught.value.field == "experiment_id"  # no existence leak
    finally:
        outsider.close()
    assert http("GET", f"/api/v1/experiments/{experiment['id']}/best-run").status_code == 400  # metric missing


def test_the_module_level_functions_follow_the_seed(server: ServerProcess, token: str, experiment: dict,
                                                    three_runs: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path) -> None:
    monkeypatch.setenv("EXPERIMENT_TRACKER_URL", server.url)
    monkeypatch.setenv("EXPERIMENT_TRACKER_TOKEN", token)
    monkeypatch.setenv("EXPERIMENT_TRACKER_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setattr(experiment_tracker, "_default", None)
    best_run = experiment_tracker.get_best_run(experiment_id=experiment["id"], metric="accuracy", mode="max")
    assert best_run.id == three_runs["late"]
    assert best_run.metrics["accuracy"] == 0.95 and best_run.parameters == {"alpha": "0.5"}
    experiment_tracker.default_tracker().close()


def test_runs_dataframe_has_params_and_metric_summaries_as_columns(tracker: Tracker, experiment: dict,
                                                                   three_runs: dict[str, str]) -> None:
    pd = pytest.importorskip("pandas")
    frame = tracker.runs_dataframe(experiment["id"])
    assert len(frame) == 3 and set(frame.index) == set(three_runs.values())
    peaked = frame.loc[three_runs["peaked"]]
    assert peaked["name"] == "peaked" and peaked["status"] == "FINISHED"
    assert peaked["metrics.accuracy"] == 0.80 and peaked["metrics.accuracy.max"] == 0.97
    assert peaked["metrics.accuracy.min"] == 0.80 and peaked["params.algorithm"] == "svm"
    assert pd.api.types.is_numeric_dtype(frame["params.alpha"])
    assert sorted(frame["params.alpha"].tolist()) == [0.1, 0.5, 1.0]
    assert pd.isna(frame.loc[three_runs["late"], "metrics.loss"])
    assert str(frame["start_time"].dtype).startswith("datetime64")
    assert frame.sort_values("metrics.accuracy", ascending=False).index[0] == three_runs["late"]


def test_a_promotion_hook_registers_runs_that_meet_its_criteria(tracker: Tracker, experiment: dict,
                                                                registry: Registry, tmp_path) -> None:
    eid = experiment["id"]
    hook = tracker.register_model_promotion_hook(experiment_id=eid, criteria={"accuracy": ">= 0.95"},
                                                 registry_url=registry.url, name=f"healthcare-classifier-{eid}")
    assert tracker.list_promotion_hooks(eid) == [hook]

    model = tmp_path / "model.pkl"
    model.write_bytes(b"weights")
    with tracker.start_run(eid, name="good", parameters={"alpha": 0.1}) as good:
        good.log_metrics({"accuracy": 0.97, "f1_score": 0.93}, step=1)
        good.log_artifact(model, type="model")
    with tracker.start_run(eid, name="weak") as weak:
        weak.log_metrics({"accuracy": 0.90}, step=1)
    with pytest.raises(RuntimeError):
        with tracker.start_run(eid, name="crashed") as crashed:
            crashed.log_metrics({"accuracy": 0.99}, step=1)
            raise RuntimeError("boom")  # a FAILED run is never promoted

    assert len(registry.received) == 1
    path, payload = registry.received[0]
    assert path == "/api/v1/models"  # a bare registry address gets the registry's models endpoint
    assert payload["run_id"] == good.id and payload["name"] == f"healthcare-classifier-{eid}"
    assert payload["metrics"] == {"accuracy": 0.97, "f1_score": 0.93} and payload["parameters"] == {"alpha": "0.1"}
    assert [a["name"] for a in payload["artifacts"]] == ["model.pkl"]
    assert good.promotions[0]["state"] == "registered" and weak.promotions[0]["met"] is False
    assert tracker.get_run(good.id).tags[f"promotion/{hook['id']}"] == "registered"

    assert tracker.fire_promotion_hooks(good.id)[0]["state"] == "registered"
    assert len(registry.received) == 1  # once per run and hook
    tracker.delete_promotion_hook(eid, hook["id"])
    assert tracker.list_promotion_hooks(eid) == []


def test_a_registry_failure_is_recorded_on_the_run_and_can_be_retried(tracker: Tracker, experiment: dict,
                                                                      registry: Registry) -> None:
    eid = experiment["id"]
    hook = tracker.register_model_promotion_hook(eid, {"accuracy": "max > 0.9"}, f"{registry.url}/hooks/promote")
    registry.status = 503
    with tracker.start_run(eid) as run:
        run.log_metrics({"accuracy": 0.95}, step=0)
        run.log_metrics({"accuracy": 0.85}, step=1)  # last 0.85, but the hook ranks the maximum
    assert registry.received[0][0] == "/hooks/promote"
    assert tracker.get_run(run.id).tags[f"promotion/{hook['id']}"] == "failed: HTTP 503"
    registry.status = 200
    assert tracker.fire_promotion_hooks(run.id)[0]["state"] == "registered"
    assert len(registry.received) == 2


def test_promotion_hooks_reject_what_they_cannot_evaluate(tracker: Tracker, experiment: dict) -> None:
    for criteria, url, field in [({"accuracy": "about 0.95"}, "http://registry:8000", "criteria.accuracy"),
                                 ({}, "http://registry:8000", "criteria"),
                                 ({"accuracy": ">= 0.95"}, "ftp://registry", "registry_url")]:
        with pytest.raises(TrackerError) as caught:
            tracker.register_model_promotion_hook(experiment["id"], criteria, url)
        assert caught.value.status == 400 and caught.value.field == field


def test_registry_endpoint() -> None:
    assert registry_endpoint("http://model-registry:8000") == "http://model-registry:8000/api/v1/models"
    assert registry_endpoint("http://model-registry:8000/") == "http://model-registry:8000/api/v1/models"
    assert registry_endpoint("http://r:8000/v2/register") == "http://r:8000/v2/register"


def test_feature_usage_is_stored_on_the_run_and_merged(tracker: Tracker, experiment: dict, http) -> None:
    pd = pytest.importorskip("pandas")
    with tracker.start_run(experiment["id"]) as run:
        experiment_tracker_result = tracker.log_feature_usage(
            run_id=run.id, feature_sets=["user_features", "context_features"],
            feature_importance=pd.Series({"age": 0.31, "tenure": 0.12}))
        assert experiment_tracker_result["feature_sets"] == ["user_features", "context_features"]
        run.log_feature_usage(["user_features", "session_features"], {"clicks": -0.4, "age": 0.35})
    usage = tracker.get_feature_usage(run.id)
    assert usage["feature_sets"] == ["user_features", "context_features", "session_features"]
    assert usage["feature_importance"] == {"age": 0.35, "tenure": 0.12, "clicks": -0.4}
    info = tracker.get_run(run.id)
    assert {k for k in info.tags if k.startswith("feature_set/")} == {
        "feature_set/user_features", "feature_set/context_features", "feature_set/session_features"}
    assert [a["name"] for a in info.artifacts] == ["feature_usage.json"]
    with tracker.start_run(experiment["id"]) as bare:
        pass
    assert http("GET", f"/api/v1/runs/{bare.id}/feature-usage").json()["feature_sets"] == []
    bad = http("POST", f"/api/v1/runs/{bare.id}/feature-usage", json={"feature_importance": {"age": "high"}})
    assert bad.status_code == 400 and bad.json()["error"]["field"].startswith("feature_importance")
