"""MLflow's wire contract over plain HTTP: error codes and statuses, limits, omitted fields, replays, auth.
A client mistake must never be a 5xx (the mlflow client retries those for minutes)."""
from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from services import accounts
from tests.conftest import PASSWORD
from tests.mlflow.conftest import Server, point_client_at, unique

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

API = "/api/2.0/mlflow"


def call(server: Server, method: str, path: str, body: Any = None, auth: str | None = None,
         **kw: Any) -> requests.Response:
    headers = {"Authorization": auth or f"Bearer {server.token}"}
    if method == "GET":
        return requests.get(server.url + path, params=body, headers=headers, timeout=30)
    return requests.request(method, server.url + path, json=body, headers=headers, timeout=30, **kw)


def error_of(response: requests.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error_code", "message"} and body["message"], body
    return response.status_code, body["error_code"]


@pytest.fixture
def run_id(sqlite_server: Server) -> str:
    created = call(sqlite_server, "POST", f"{API}/experiments/create", {"name": unique("wire")})
    experiment_id = created.json()["experiment_id"]
    run = call(sqlite_server, "POST", f"{API}/runs/create", {"experiment_id": experiment_id, "start_time": 1000})
    assert run.status_code == 200, run.text
    return run.json()["run"]["info"]["run_id"]


def test_error_codes_and_statuses(sqlite_server: Server, run_id: str) -> None:
    s = sqlite_server
    name = unique("dup")
    assert call(s, "POST", f"{API}/experiments/create", {"name": name}).status_code == 200
    assert error_of(call(s, "POST", f"{API}/experiments/create", {"name": name})) == (400, "RESOURCE_ALREADY_EXISTS")
    assert error_of(call(s, "GET", f"{API}/runs/get", {"run_id": "no-such-run"})) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert error_of(call(s, "GET", f"{API}/experiments/get", {"experiment_id": "nope"})) == \
        (404, "RESOURCE_DOES_NOT_EXIST")
    assert error_of(call(s, "GET", f"{API}/experiments/get-by-name", {"experiment_name": unique("x")})) == \
        (404, "RESOURCE_DOES_NOT_EXIST")
    assert error_of(call(s, "POST", f"{API}/runs/log-metric", {"run_id": run_id, "key": "m"})) == \
        (400, "INVALID_PARAMETER_VALUE")  # no value, no timestamp
    assert error_of(call(s, "GET", f"{API}/runs/get", {})) == (400, "INVALID_PARAMETER_VALUE")
    assert error_of(call(s, "POST", f"{API}/runs/update", {"run_id": run_id, "status": "DONE"})) == \
        (400, "INVALID_PARAMETER_VALUE")
    assert error_of(call(s, "POST", f"{API}/runs/search", {"experiment_ids": ["0"], "max_results": 50001})) == \
        (400, "INVALID_PARAMETER_VALUE")
    assert error_of(call(s, "POST", f"{API}/runs/search", {"experiment_ids": ["0"], "filter": "metrics.a >"})) == \
        (400, "INVALID_PARAMETER_VALUE")
    assert error_of(call(s, "POST", f"{API}/runs/search", {"experiment_ids": ["0"], "page_token": "garbage"})) \
        == (400, "INVALID_PARAMETER_VALUE")
    assert error_of(call(s, "POST", f"{API}/no/such/endpoint", {})) == (404, "ENDPOINT_NOT_FOUND")
    assert call(s, "POST", f"{API}/logged-models/search", {"experiment_ids": ["0"]}).json() == {}
    assert call(s, "GET", "/api/3.0/mlflow/server-info").status_code == 404


@pytest.mark.parametrize("body", [
    {"key": "m", "value": "abc", "timestamp": 1},
    {"key": "m", "value": 1, "timestamp": "yesterday"},
    {"key": "m", "value": 1, "timestamp": 1, "step": 1.5},
    {"key": "m", "value": 1, "timestamp": 1, "step": 2**63},
    {"key": ["m"], "value": 1, "timestamp": 1},
    {"key": "x" * 251, "value": 1, "timestamp": 1},
    {"key": "", "value": 1, "timestamp": 1},
])
def test_bad_metric_values_are_client_errors(sqlite_server: Server, run_id: str, body: dict) -> None:
    response = call(sqlite_server, "POST", f"{API}/runs/log-metric", {"run_id": run_id, **body})
    assert error_of(response) == (400, "INVALID_PARAMETER_VALUE")


def test_malformed_bodies_are_client_errors(sqlite_server: Server, run_id: str) -> None:
    for raw in (b"{not json", b"[1, 2]", b'{"run_id": "a", "run_id": "b"}'):
        response = requests.post(f"{sqlite_server.url}{API}/runs/log-parameter", data=raw, timeout=30,
                                 headers={"Authorization": f"Bearer {sqlite_server.token}",
                                          "Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["error_code"] in ("MALFORMED_REQUEST",
                                                                                  "INVALID_PARAMETER_VALUE")


def test_batch_and_value_limits(sqlite_server: Server, run_id: str) -> None:
    s = sqlite_server
    metric = {"key": "m", "value": 1.0, "timestamp": 5, "step": 0}
    too_many = [{**metric, "step": i} for i in range(1001)]
    assert error_of(call(s, "POST", f"{API}/runs/log-batch", {"run_id": run_id, "metrics": too_many})) == \
        (400, "INVALID_PARAMETER_VALUE")
    params = [{"key": f"p{i}", "value": "1"} for i in range(101)]
    assert error_of(call(s, "POST", f"{API}/runs/log-batch", {"run_id": run_id, "params": params})) == \
        (400, "INVALID_PARAMETER_VALUE")
    tags = [{"key": f"t{i}", "value": "1"} for i in range(101)]
    assert error_of(call(s, "POST", f"{API}/runs/log-batch", {"run_id": run_id, "tags": tags})) == \
        (400, "INVALID_PARAMETER_VALUE")
    long_value = {"run_id": run_id, "key": "p", "value": "v" * 6001}
    assert error_of(call(s, "POST", f"{API}/runs/log-parameter", long_value)) == (400, "INVALID_PARAMETER_VALUE")
    assert call(s, "POST", f"{API}/runs/log-parameter", {**long_value, "value": "v" * 6000}).status_code == 200
    assert error_of(call(s, "POST", f"{API}/runs/log-parameter", {**long_value, "value": "other"})) == \
        (400, "INVALID_PARAMETER_VALUE")  # MLflow params cannot change
    full = {"run_id": run_id, "metrics": [{**metric, "step": i} for i in range(1000)],
            "params": [{"key": f"q{i}", "value": str(i)} for i in range(0)], "tags": []}
    assert call(s, "POST", f"{API}/runs/log-batch", full).status_code == 200
    mixed = {"run_id": run_id, "metrics": [{**metric, "step": 5000}], "params": [{"key": "bad key!", "value": "1"}]}
    assert error_of(call(s, "POST", f"{API}/runs/log-batch", mixed)) == (400, "INVALID_PARAMETER_VALUE")
    history = call(s, "GET", f"{API}/metrics/get-history", {"run_id": run_id, "metric_key": "m"}).json()
    assert len(history["metrics"]) == 1000  # the refused batch wrote nothing


def test_wire_shapes_omit_empty_fields(sqlite_server: Server, run_id: str) -> None:
    run = call(sqlite_server, "GET", f"{API}/runs/get", {"run_id": run_id}).json()["run"]
    assert "end_time" not in run["info"] and run["info"]["status"] == "RUNNING"
    assert run["info"]["start_time"] == 1000 and isinstance(run["info"]["start_time"], int)
    assert "metrics" not in run["data"] and "params" not in run["data"]
    experiment = call(sqlite_server, "GET", f"{API}/experiments/get",
                      {"experiment_id": run["info"]["experiment_id"]}).json()["experiment"]
    assert "tags" not in experiment and experiment["lifecycle_stage"] == "active"


def test_replayed_and_colliding_points(sqlite_server: Server, run_id: str) -> None:
    s = sqlite_server
    point = {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 7, "step": 3}
    for _ in range(2):  # a client retry after a lost response
        assert call(s, "POST", f"{API}/runs/log-metric", point).status_code == 200
    assert call(s, "POST", f"{API}/runs/log-metric", {**point, "value": 0.25}).status_code == 200
    batch = {"run_id": run_id, "metrics": [{k: v for k, v in point.items() if k != "run_id"}] * 2}
    assert call(s, "POST", f"{API}/runs/log-batch", batch).status_code == 200
    history = call(s, "GET", f"{API}/metrics/get-history", {"run_id": run_id, "metric_key": "loss"}).json()
    assert [(m["step"], m["value"]) for m in history["metrics"]] == [(3, 0.5), (3, 0.25)]


def test_infinities_and_nan_round_trip(sqlite_server: Server, run_id: str) -> None:
    s = sqlite_server
    values = {"NaN": 0, "Infinity": 1, "-Infinity": 2}
    metrics = [{"key": "odd", "value": v, "timestamp": 9, "step": step} for v, step in values.items()]
    assert call(s, "POST", f"{API}/runs/log-batch", {"run_id": run_id, "metrics": metrics}).status_code == 200
    history = call(s, "GET", f"{API}/metrics/get-history", {"run_id": run_id, "metric_key": "odd"}).json()
    assert [m["value"] for m in history["metrics"]] == ["NaN", "Infinity", "-Infinity"]
    summary = s.v1("GET", f"/api/v1/runs/{run_id}/metrics").json()["metrics"]
    odd = next(m for m in summary if m["key"] == "odd")
    assert odd["count"] == 3 and odd["last_step"] == 2


def test_auth(sqlite_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    s = sqlite_server
    assert error_of(requests.get(f"{s.url}{API}/experiments/get?experiment_id=0", timeout=30)) == \
        (401, "UNAUTHENTICATED")
    wrong = "Basic " + base64.b64encode(b"alice:wrong-password").decode()
    assert error_of(call(s, "GET", f"{API}/experiments/get", {"experiment_id": "0"}, auth=wrong)) == \
        (401, "UNAUTHENTICATED")
    point_client_at(monkeypatch, s, MLFLOW_TRACKING_USERNAME="alice", MLFLOW_TRACKING_PASSWORD=PASSWORD)
    experiment = mlflow.set_experiment(unique("basic-auth"))
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)
    assert MlflowClient().get_run(run.info.run_id).info.experiment_id == experiment.experiment_id


def test_other_teams_and_viewers(sqlite_server: Server, run_id: str) -> None:
    s = sqlite_server
    accounts.create_user(s.core, None, "mallory", PASSWORD)
    accounts.create_team(s.core, None, "other-team")
    accounts.set_membership(s.core, None, "other-team", "mallory", "editor")
    mallory = accounts.create_token(s.core, accounts.authenticate(s.core, "mallory", PASSWORD))["token"]
    as_mallory = f"Bearer {mallory}"
    assert error_of(call(s, "GET", f"{API}/runs/get", {"run_id": run_id}, auth=as_mallory)) == \
        (404, "RESOURCE_DOES_NOT_EXIST")
    found = call(s, "POST", f"{API}/runs/search", {"experiment_ids": [
        call(s, "GET", f"{API}/runs/get", {"run_id": run_id}).json()["run"]["info"]["experiment_id"]]},
        auth=as_mallory)
    assert found.status_code == 200 and found.json().get("runs", []) == []
    accounts.set_membership(s.core, None, "ml-team", "mallory", "viewer")
    s.core.cache.clear()
    assert call(s, "GET", f"{API}/runs/get", {"run_id": run_id}, auth=as_mallory).status_code == 200
    assert error_of(call(s, "POST", f"{API}/runs/set-tag", {"run_id": run_id, "key": "k", "value": "v"},
                         auth=as_mallory)) == (403, "PERMISSION_DENIED")


def test_metric_history_of_50k_points(sqlite_tracking: Server) -> None:
    client = MlflowClient()
    run = client.create_run(mlflow.set_experiment(unique("long")).experiment_id)
    points = [Metric("loss", 1.0 / (step + 1), 1_700_000_000_000 + step, step) for step in range(50_000)]
    for start in range(0, len(points), 1000):
        client.log_batch(run.info.run_id, metrics=points[start:start + 1000])
    history = client.get_metric_history(run.info.run_id, "loss")
    assert len(history) == 50_000
    assert [m.step for m in history] == list(range(50_000))
    assert history[-1].value == pytest.approx(1 / 50_000) and history[123].timestamp == 1_700_000_000_123
    first = call(sqlite_tracking, "GET", f"{API}/metrics/get-history",
                 {"run_id": run.info.run_id, "metric_key": "loss", "max_results": 25_000}).json()
    assert len(first["metrics"]) == 25_000 and first["next_page_token"]
    assert client.get_run(run.info.run_id).data.metrics["loss"] == pytest.approx(1 / 50_000)


def test_site_admin_without_a_team(sqlite_server: Server) -> None:
    """A fresh embedded install: only the bootstrap admin exists; their experiments land in team "Default"."""
    s = sqlite_server
    accounts.create_user(s.core, None, "root", PASSWORD, is_admin=True)
    auth = "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    created = call(s, "POST", f"{API}/experiments/create", {"name": "admin-project/first"}, auth=auth)
    assert created.status_code == 200, created.text
    experiment = s.v1("GET", f"/api/v1/experiments/{created.json()['experiment_id']}",
                      headers={"Authorization": auth}).json()
    project = s.v1("GET", f"/api/v1/projects/{experiment['project_id']}", headers={"Authorization": auth}).json()
    assert project["name"] == "admin-project" and project["team"] == "Default"
    got = call(s, "GET", f"{API}/experiments/get-by-name", {"experiment_name": "admin-project/first"}, auth=auth)
    assert got.json()["experiment"]["experiment_id"] == created.json()["experiment_id"]


def test_artifact_proxy(sqlite_server: Server, run_id: str) -> None:
    s = sqlite_server
    run = call(s, "GET", f"{API}/runs/get", {"run_id": run_id}).json()["run"]["info"]
    base = f"{s.url}/api/2.0/mlflow-artifacts/artifacts/{run['experiment_id']}/{run_id}/artifacts"
    auth = {"Authorization": f"Bearer {s.token}"}
    body = b'{"loss": NaN, "loss": 1}'  # not our API's JSON: an artifact is stored as sent
    put = requests.put(f"{base}/eval/metrics.json", data=body, timeout=30,
                       headers={**auth, "Content-Type": "application/json"})
    assert put.status_code == 200 and put.json() == {}
    got = requests.get(f"{base}/eval/metrics.json", headers=auth, timeout=30)
    assert got.status_code == 200 and got.content == body
    listing = requests.get(f"{s.url}/api/2.0/mlflow-artifacts/artifacts", headers=auth, timeout=30,
                           params={"path": f"{run['experiment_id']}/{run_id}/artifacts"}).json()
    assert listing == {"files": [{"path": "eval", "is_dir": True}]}
    tracked = call(s, "GET", f"{API}/artifacts/list", {"run_id": run_id, "path": "eval"}).json()
    assert tracked == {"root_uri": run["artifact_uri"],
                       "files": [{"path": "eval/metrics.json", "is_dir": False, "file_size": len(body)}]}
    assert error_of(requests.get(f"{base}/eval/missing.json", headers=auth, timeout=30)) == \
        (404, "RESOURCE_DOES_NOT_EXIST")
    assert error_of(requests.put(f"{base}/a/%2E%2E/b.txt", data=b"x", headers=auth, timeout=30))[0] == 400
    other = f"{s.url}/api/2.0/mlflow-artifacts/artifacts/not-the-experiment/{run_id}/artifacts/x.txt"
    assert error_of(requests.put(other, data=b"x", headers=auth, timeout=30)) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert call(s, "POST", f"{API}/runs/log-inputs", {"run_id": run_id, "datasets": [
        {"dataset": {"name": "d", "digest": "abc", "source_type": "local", "source": "{}"}}]}).json() == {}
