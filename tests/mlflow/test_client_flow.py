"""The real mlflow client end to end, on SQLite and on Postgres + Redis + S3: what a training script does, what
it reads back, and that the same runs are ours in /api/v1."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.mlflow.conftest import TEAM, Server, unique

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


COMMIT = "0f06c93a1e2b3c4d5e6f708192a3b4c5d6e7f809"  # what the client tags a run with in a git checkout


def _train(tmp_path: Path) -> dict:
    """A training script's calls; returns the ids it saw."""
    model = tmp_path / "model.pkl"
    model.write_bytes(b"\x80\x04weights" * 1000)
    report = tmp_path / "report.json"
    report.write_text('{"accuracy": 0.95, "loss": NaN}')  # Python's json.dump writes NaN like this
    with mlflow.start_run(run_name="parent", tags={"mlflow.source.git.commit": COMMIT}) as parent:
        mlflow.log_param("alpha", 0.1)
        mlflow.log_params({"algorithm": "MultinomialNB", "max_features": 10000})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"accuracy": 0.95, "f1_score": 0.93}, step=4)
        mlflow.log_metric("grad_norm", float("nan"), step=4)
        mlflow.set_tag("stage", "baseline")
        mlflow.set_tags({"domain": "healthcare", "owner": "ml"})
        mlflow.log_artifact(str(model))
        mlflow.log_artifact(str(report), artifact_path="reports/final")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("accuracy", 0.90)
    with mlflow.start_run(run_name="failing") as failing:
        mlflow.log_metric("accuracy", 0.5)
        mlflow.end_run(status="FAILED")
    return {"parent": parent.info.run_id, "child": child.info.run_id, "failing": failing.info.run_id}


def test_training_script_round_trip(tracking: Server, tmp_path: Path) -> None:
    name = f"mlflow-compat/{unique('flow')}"
    experiment = mlflow.set_experiment(name)
    assert experiment.name == name and experiment.lifecycle_stage == "active"
    ids = _train(tmp_path)
    client = MlflowClient()

    parent = client.get_run(ids["parent"])
    assert parent.info.status == "FINISHED" and parent.info.end_time >= parent.info.start_time
    assert parent.info.run_name == "parent" and parent.info.experiment_id == experiment.experiment_id
    assert parent.info.user_id == "alice" and parent.info.lifecycle_stage == "active"
    assert parent.info.artifact_uri == f"mlflow-artifacts:/{experiment.experiment_id}/{ids['parent']}/artifacts"
    assert parent.data.params == {"alpha": "0.1", "algorithm": "MultinomialNB", "max_features": "10000"}
    assert parent.data.metrics["loss"] == pytest.approx(0.2) and parent.data.metrics["accuracy"] == 0.95
    assert math.isnan(parent.data.metrics["grad_norm"])
    assert {"stage": "baseline", "domain": "healthcare", "owner": "ml", "mlflow.runName": "parent"}.items() \
        <= parent.data.tags.items()
    child = client.get_run(ids["child"])
    assert child.data.tags["mlflow.parentRunId"] == ids["parent"] and child.info.status == "FINISHED"
    assert client.get_run(ids["failing"]).info.status == "FAILED"

    history = client.get_metric_history(ids["parent"], "loss")
    assert [(m.step, m.value) for m in history] == [(s, pytest.approx(1.0 / (s + 1))) for s in range(5)]
    assert all(m.timestamp > 1_600_000_000_000 for m in history)
    assert math.isnan(client.get_metric_history(ids["parent"], "grad_norm")[0].value)
    assert client.get_metric_history(ids["parent"], "never-logged") == []

    assert sorted(f.path for f in client.list_artifacts(ids["parent"])) == ["model.pkl", "reports"]
    assert [f.path for f in client.list_artifacts(ids["parent"], "reports/final")] == ["reports/final/report.json"]
    downloaded = Path(mlflow.artifacts.download_artifacts(run_id=ids["parent"], dst_path=str(tmp_path / "dl")))
    assert (downloaded / "model.pkl").read_bytes() == (tmp_path / "model.pkl").read_bytes()
    assert (downloaded / "reports/final/report.json").read_text() == (tmp_path / "report.json").read_text()

    _same_runs_in_v1(tracking, ids, experiment.experiment_id)


def _same_runs_in_v1(server: Server, ids: dict, experiment_id: str) -> None:
    got = server.v1("GET", f"/api/v1/runs/{ids['parent']}").json()
    assert got["experiment_id"] == experiment_id and got["status"] == "FINISHED" and got["name"] == "parent"
    assert got["parameters"]["alpha"] == "0.1" and got["tags"]["stage"] == "baseline"
    assert got["git_commit"] == COMMIT  # shown in the run page's header like our client's
    assert got["metrics"]["accuracy"]["last"] == 0.95 and got["metrics"]["loss"]["count"] == 5
    assert got["metrics"]["loss"]["min"] == pytest.approx(0.2) and got["metrics"]["loss"]["max"] == 1.0
    assert got["child_run_ids"] == [ids["child"]]
    artifacts = server.v1("GET", f"/api/v1/runs/{ids['parent']}/artifacts").json()["items"]
    assert {(a["name"], a["stored"]) for a in artifacts} == {("model.pkl", True),
                                                             ("reports/final/report.json", True)}
    assert server.v1("GET", f"/api/v1/runs/{ids['child']}").json()["parent_run_id"] == ids["parent"]
    experiment = server.v1("GET", f"/api/v1/experiments/{experiment_id}").json()
    project = server.v1("GET", f"/api/v1/projects/{experiment['project_id']}").json()
    assert project["name"] == "mlflow-compat" and project["team"] == TEAM


def test_search_runs_filters_and_order(tracking: Server, tmp_path: Path) -> None:
    experiment = mlflow.set_experiment(unique("search"))
    ids = _train(tmp_path)
    client = MlflowClient()

    def found(filter_string: str = "", order_by: list[str] | None = None, **kw: object) -> list[str]:
        runs = client.search_runs([experiment.experiment_id], filter_string, order_by=order_by, **kw)
        return [r.info.run_name for r in runs]

    assert found("metrics.accuracy > 0.8", ["metrics.accuracy DESC"]) == ["parent", "child"]
    assert found("metrics.accuracy >= 0.5", ["metrics.accuracy ASC"]) == ["failing", "child", "parent"]
    assert found("metrics.loss < 0.3 AND params.algorithm = 'MultinomialNB'") == ["parent"]
    assert found("metrics.grad_norm > 0") == [] and found("metrics.grad_norm <= 0") == []
    assert found("params.max_features != '10'") == ["parent"]
    assert found("attributes.status = 'FAILED'") == ["failing"]
    assert found("tags.stage LIKE 'base%'") == ["parent"] and found("tags.stage LIKE 'BASE%'") == []
    assert found("tags.stage ILIKE 'BASE%'") == ["parent"]
    assert found("tags.`mlflow.parentRunId` = '%s'" % ids["parent"]) == ["child"]
    assert sorted(found("attributes.run_name IN ('child', 'failing')")) == ["child", "failing"]
    assert found("", ["attributes.run_name ASC"]) == ["child", "failing", "parent"]
    assert found("", ["params.alpha DESC", "attributes.run_name"]) == ["parent", "child", "failing"]
    assert found("", ["metrics.f1_score ASC", "attributes.run_name DESC"]) == ["parent", "failing", "child"]
    for direction in ("ASC", "DESC"):  # NaN after the numbers, runs without the metric last
        assert found("", [f"metrics.grad_norm {direction}", "attributes.run_name"]) == ["parent", "child", "failing"]
    with mlflow.start_run(run_name="late"):
        mlflow.log_metric("grad_norm", 3.0)
    assert found("", ["metrics.grad_norm DESC", "attributes.run_name"]) == ["late", "parent", "child", "failing"]
    # filtered and ordered by the same metric (one join serves both): NaN and a missing metric never match
    assert found("metrics.grad_norm != 5", ["metrics.grad_norm ASC"]) == ["late"]
    assert found("metrics.grad_norm < 5", ["metrics.grad_norm DESC", "attributes.run_name"]) == ["late"]
    first = client.search_runs([experiment.experiment_id], "", order_by=["attributes.run_name"], max_results=2)
    assert [r.info.run_name for r in first] == ["child", "failing"] and first.token
    rest = client.search_runs([experiment.experiment_id], "", order_by=["attributes.run_name"], max_results=3,
                              page_token=first.token)
    assert [r.info.run_name for r in rest] == ["late", "parent"] and not rest.token
    with pytest.raises(MlflowException) as bad:
        found("metrics.accuracy > 0.8 OR metrics.loss < 1")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"


def test_delete_and_restore(tracking: Server) -> None:
    name = unique("lifecycle")
    experiment_id = mlflow.create_experiment(name)
    client = MlflowClient()
    with pytest.raises(MlflowException) as dup:
        client.create_experiment(name)
    assert dup.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert client.get_experiment_by_name(name).experiment_id == experiment_id
    assert client.get_experiment_by_name(unique("never-created")) is None
    run = client.create_run(experiment_id, run_name="doomed")
    client.set_terminated(run.info.run_id)

    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    assert [r.info.run_id for r in client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)] == \
        [run.info.run_id]
    assert tracking.v1("GET", f"/api/v1/runs/{run.info.run_id}").status_code == 404
    client.restore_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"

    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert client.get_experiment_by_name(name).lifecycle_stage == "deleted"
    with pytest.raises(MlflowException):
        mlflow.set_experiment(name)  # the client refuses a deleted experiment, as against MLflow's server
    assert name not in [e.name for e in client.search_experiments()]
    assert name in [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
    client.restore_experiment(experiment_id)
    assert mlflow.set_experiment(name).lifecycle_stage == "active"
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run.info.run_id]


def test_default_experiment_and_tags(tracking: Server) -> None:
    client = MlflowClient()
    default = client.get_experiment("0")
    assert default.name == "Default" and default.experiment_id == "0"
    run = client.create_run("0")
    assert client.get_experiment(run.info.experiment_id).name == "Default"
    assert client.get_experiment_by_name("Default").experiment_id == run.info.experiment_id
    client.set_experiment_tag(run.info.experiment_id, "purpose", "smoke")
    assert client.get_experiment(run.info.experiment_id).tags["purpose"] == "smoke"
    client.set_tag(run.info.run_id, "temp", "1")
    client.delete_tag(run.info.run_id, "temp")
    assert "temp" not in client.get_run(run.info.run_id).data.tags
    client.set_tag(run.info.run_id, "mlflow.runName", "renamed")
    assert client.get_run(run.info.run_id).info.run_name == "renamed"
    client.rename_experiment(run.info.experiment_id, "Default")  # a no-op rename is fine
    found = client.search_experiments(filter_string="tags.purpose = 'smoke'")
    assert [e.experiment_id for e in found] == [run.info.experiment_id]
    assert json.loads(json.dumps(client.get_run(run.info.run_id).to_dictionary()))["info"]["status"] == "RUNNING"
