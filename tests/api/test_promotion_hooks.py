"""Model-promotion hooks fire on the server when a run turns FINISHED (/api/v1 and the MLflow update-run path)."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from services import best_run
from tests.api.test_projects import ok, seed
from tests.support import Registry, registry  # noqa: F401 (registry is a fixture)


@pytest.fixture(autouse=True)
def quick_handover(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nobody takes hooks over in these tests but the one about it: the server sends after 0.2 s."""
    if "takes_the_registration_over" not in request.node.name:
        monkeypatch.setattr(best_run, "HANDOVER_SECONDS", 0.2)


@pytest.fixture
def alice(make_user: Callable[..., Any]) -> Any:
    return make_user("alice", team="ml-team", role="editor")


def settled(api: Any, run_id: str, hook_id: str, timeout: float = 15.0) -> str | None:
    """The run's promotion tag once the server's background registration has finished (polled, bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        state = ok(api.get(f"/api/v1/runs/{run_id}"))["tags"].get(f"promotion/{hook_id}")
        if state not in (None, "pending", "sending") or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def new_run(api: Any, eid: str, name: str, accuracy: float) -> str:
    rid = ok(api.post(f"/api/v1/experiments/{eid}/runs", json={"name": name, "parameters": {"alpha": 0.1}}),
             201)["id"]
    ok(api.post(f"/api/v1/runs/{rid}/metrics", json={"metrics": {"accuracy": accuracy}, "step": 1}), 201)
    return rid


def add_hook(api: Any, eid: str, url: str, criterion: str = ">= 0.95") -> dict:
    return ok(api.post(f"/api/v1/experiments/{eid}/promotion-hooks",
                       json={"criteria": {"accuracy": criterion}, "registry_url": url, "name": "clf"}), 201)


def test_finishing_a_run_that_meets_the_criteria_registers_it_once(alice: Any, registry: Registry) -> None:
    eid = seed(alice)["experiment_id"]
    hook = add_hook(alice, eid, registry.url)
    good, weak, crashed = (new_run(alice, eid, n, a) for n, a in (("good", 0.97), ("weak", 0.9), ("crash", 0.99)))
    ok(alice.patch(f"/api/v1/runs/{weak}", json={"status": "FINISHED"}))
    ok(alice.patch(f"/api/v1/runs/{crashed}", json={"status": "FAILED"}))
    ok(alice.patch(f"/api/v1/runs/{good}", json={"status": "FINISHED"}))

    assert settled(alice, good, hook["id"]) == "registered"
    assert len(registry.received) == 1
    path, payload = registry.received[0]
    assert path == "/api/v1/models" and payload["run_id"] == good and payload["name"] == "clf"
    assert payload["metrics"] == {"accuracy": 0.97} and payload["parameters"] == {"alpha": "0.1"}
    assert payload["results"]["accuracy"]["met"] is True and payload["hook_id"] == hook["id"]
    for other in (weak, crashed):
        assert f"promotion/{hook['id']}" not in ok(alice.get(f"/api/v1/runs/{other}"))["tags"]
    check = ok(alice.get(f"/api/v1/runs/{good}/promotion-check"))
    assert check["hooks"][0]["state"] == "registered" and check["hooks"][0]["met"] is True

    ok(alice.patch(f"/api/v1/runs/{good}", json={"status": "RUNNING"}))
    ok(alice.patch(f"/api/v1/runs/{good}", json={"status": "FINISHED"}))  # finishing again: already registered
    assert settled(alice, good, hook["id"]) == "registered" and len(registry.received) == 1


def test_a_slow_or_failing_registry_never_blocks_the_request(alice: Any, registry: Registry) -> None:
    eid = seed(alice)["experiment_id"]
    hook = add_hook(alice, eid, f"{registry.url}/hooks/promote", "max > 0.9")
    rid = new_run(alice, eid, "slow", 0.95)
    registry.status, registry.delay = 503, 1.5
    started = time.monotonic()
    finished = ok(alice.patch(f"/api/v1/runs/{rid}", json={"status": "FINISHED"}))
    assert finished["status"] == "FINISHED" and time.monotonic() - started < 1.5
    assert settled(alice, rid, hook["id"]) == "failed: HTTP 503"
    assert [p for p, _ in registry.received] == ["/hooks/promote"]


def test_an_unreachable_registry_is_recorded(alice: Any, registry: Registry) -> None:
    eid = seed(alice)["experiment_id"]
    hook = add_hook(alice, eid, "http://127.0.0.1:9/registry")  # discard port: connection refused
    rid = new_run(alice, eid, "lonely", 0.99)
    assert ok(alice.patch(f"/api/v1/runs/{rid}", json={"status": "FINISHED"}))["status"] == "FINISHED"
    assert settled(alice, rid, hook["id"]).startswith("failed: ")


def test_the_mlflow_update_run_path_fires_hooks(alice: Any, registry: Registry) -> None:
    eid = seed(alice)["experiment_id"]
    hook = add_hook(alice, eid, registry.url)
    rid = new_run(alice, eid, "via-mlflow", 0.96)
    info = ok(alice.post("/api/2.0/mlflow/runs/update", json={"run_id": rid, "status": "FINISHED",
                                                                "end_time": int(time.time() * 1000)}))
    assert info["run_info"]["status"] == "FINISHED"
    assert settled(alice, rid, hook["id"]) == "registered"
    assert [body["run_id"] for _, body in registry.received] == [rid]


def test_a_client_asking_right_after_finishing_takes_the_registration_over(alice: Any, registry: Registry) -> None:
    """The Python client checks promotion-check right after finishing and registers with its own headers."""
    eid = seed(alice)["experiment_id"]
    hook = add_hook(alice, eid, registry.url)
    rid = new_run(alice, eid, "client", 0.99)
    ok(alice.patch(f"/api/v1/runs/{rid}", json={"status": "FINISHED"}))
    check = ok(alice.get(f"/api/v1/runs/{rid}/promotion-check"))
    assert check["hooks"][0]["met"] is True and check["hooks"][0]["state"] is None
    time.sleep(best_run.HANDOVER_SECONDS + 1)  # past the moment the server would have sent it
    assert registry.received == [] and settled(alice, rid, hook["id"]) is None
