"""Runs over /api/v1: start, status and end time, notes and tags, nesting, locking and deleting."""
from __future__ import annotations

from datetime import datetime

from tests.api.test_projects import SEED_RUN, ok, seed


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_seed_run_is_stored_as_sent(admin) -> None:
    ids = seed(admin)
    run = ok(admin.get(f"/api/v1/runs/{ids['run_id']}"))
    assert run["name"] == "run-001" and run["status"] == "RUNNING" and run["end_time"] is None
    assert run["experiment_id"] == ids["experiment_id"] and run["parent_run_id"] is None
    assert run["parameters"] == {"algorithm": "MultinomialNB", "alpha": "0.1", "max_features": "10000"}
    assert run["environment"] == SEED_RUN["environment"]
    assert run["child_run_ids"] == [] and run["metrics"] == {} and run["locked"] is False


def test_status_sets_end_time_and_notes_and_tags(admin) -> None:
    ids = seed(admin)
    url = f"/api/v1/runs/{ids['run_id']}"
    got = ok(admin.patch(url, json={"notes": "looks **good**", "tags": {"stage": "dev", "owner": "ana"}}))
    assert got["notes"] == "looks **good**" and got["tags"] == {"stage": "dev", "owner": "ana"}
    got = ok(admin.patch(url, json={"tags": {"stage": "prod", "owner": None}}))
    assert got["tags"] == {"stage": "prod"}
    got = ok(admin.patch(url, json={"tags": ["baseline"]}))
    assert got["tags"] == {"stage": "prod", "baseline": ""}

    for status in ("FAILED", "KILLED", "FINISHED"):
        got = ok(admin.patch(url, json={"status": status}))
        assert got["status"] == status and got["end_time"] is not None
        assert _time(got["end_time"]) >= _time(got["start_time"]) and got["duration_ms"] >= 0
    got = ok(admin.patch(url, json={"status": "RUNNING"}))
    assert got["status"] == "RUNNING" and got["end_time"] is None
    got = ok(admin.patch(url, json={"status": "FINISHED", "end_time": "2100-01-01T00:00:00Z"}))
    assert got["end_time"] == "2100-01-01T00:00:00Z"
    for body in ({"status": "FAILED", "end_time": "2000-01-01T00:00:00Z"}, {"end_time": "2000-01-01T00:00:00Z"}):
        early = admin.patch(url, json=body)
        assert early.status_code == 400 and early.get_json()["error"]["field"] == "end_time"
    got = ok(admin.get(url))
    assert got["status"] == "FINISHED" and got["end_time"] == "2100-01-01T00:00:00Z"
    assert got["notes"] == "looks **good**" and got["parameters"]["alpha"] == "0.1"


def test_parameters_can_be_added_but_not_changed(admin) -> None:
    ids = seed(admin)
    url = f"/api/v1/runs/{ids['run_id']}"
    got = ok(admin.patch(url, json={"parameters": {"seed": 42, "alpha": 0.1}}))
    assert got["parameters"]["seed"] == "42"
    clash = admin.patch(url, json={"parameters": {"alpha": 0.5, "other": 1}, "notes": "n"})
    assert clash.status_code == 409 and clash.get_json()["error"]["field"] == "parameters.alpha"
    got = ok(admin.get(url))
    assert got["parameters"]["alpha"] == "0.1" and "other" not in got["parameters"] and got["notes"] == ""


def test_nested_runs(admin) -> None:
    ids = seed(admin)
    runs = f"/api/v1/experiments/{ids['experiment_id']}/runs"
    kids = [ok(admin.post(runs, json={"name": f"fold-{i}", "parent_run_id": ids["run_id"]}), 201) for i in range(3)]
    assert all(k["parent_run_id"] == ids["run_id"] for k in kids)
    parent = ok(admin.get(f"/api/v1/runs/{ids['run_id']}"))
    assert sorted(parent["child_run_ids"]) == sorted(k["id"] for k in kids)
    listed = ok(admin.get(f"{runs}?parent_run_id={ids['run_id']}"))
    assert listed["total"] == 3 and {r["id"] for r in listed["items"]} == {k["id"] for k in kids}
    assert ok(admin.get(f"{runs}?status=RUNNING"))["total"] == 4

    missing = admin.post(runs, json={"name": "orphan", "parent_run_id": "00000000-0000-0000-0000-000000000000"})
    assert missing.status_code == 404 and missing.get_json()["error"]["field"] == "parent_run_id"
    other = ok(admin.post("/api/v1/experiments", json={"project_id": ids["project_id"], "name": "other"}), 201)
    cross = admin.post(f"/api/v1/experiments/{other['id']}/runs", json={"parent_run_id": ids["run_id"]})
    assert cross.status_code == 400 and cross.get_json()["error"]["field"] == "parent_run_id"
    assert ok(admin.get(runs))["total"] == 4
    assert ok(admin.get(f"/api/v1/experiments/{other['id']}/runs"))["total"] == 0


def test_locked_run_refuses_every_write(admin) -> None:
    ids = seed(admin)
    url = f"/api/v1/runs/{ids['run_id']}"
    ok(admin.post(f"{url}/metrics", json={"metrics": {"loss": 1.0}, "step": 1}), 201)
    early = admin.patch(url, json={"locked": True})
    assert early.status_code == 400 and early.get_json()["error"]["field"] == "locked"
    assert ok(admin.patch(url, json={"status": "FINISHED", "locked": True}))["locked"] is True

    writes = [admin.patch(url, json={"notes": "late"}), admin.patch(url, json={"status": "RUNNING"}),
              admin.post(f"{url}/metrics", json={"metrics": {"loss": 0.5}, "step": 2}),
              admin.post(f"{url}/metrics", json={"steps": [{"metrics": {"loss": 0.4}, "step": 3}]}),
              admin.post(f"{url}/artifacts", json={"name": "m.pkl", "path": "s3://b/m.pkl"}),
              admin.post(f"{url}/artifacts", data={"file": (__import__("io").BytesIO(b"x"), "f.txt")},
                         content_type="multipart/form-data"),
              admin.delete(url)]
    for response in writes:
        assert response.status_code == 409, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "run_locked"
    got = ok(admin.get(url))
    assert got["notes"] == "" and got["status"] == "FINISHED" and got["metrics"]["loss"]["count"] == 1
    assert ok(admin.get(f"{url}/artifacts"))["total"] == 0

    got = ok(admin.patch(url, json={"locked": False}))
    assert got["locked"] is False
    assert ok(admin.patch(url, json={"notes": "after unlock"}))["notes"] == "after unlock"


def test_deleted_run_is_gone_for_reads_and_writes(admin) -> None:
    ids = seed(admin)
    url = f"/api/v1/runs/{ids['run_id']}"
    child = ok(admin.post(f"/api/v1/experiments/{ids['experiment_id']}/runs",
                          json={"parent_run_id": ids["run_id"]}), 201)
    assert admin.delete(f"/api/v1/runs/{child['id']}").status_code == 204
    assert ok(admin.get(url))["child_run_ids"] == []
    assert admin.delete(url).status_code == 204

    responses = [admin.get(url), admin.patch(url, json={"notes": "x"}), admin.delete(url),
                 admin.get(f"{url}/metrics"), admin.get(f"{url}/artifacts"),
                 admin.post(f"{url}/metrics", json={"metrics": {"a": 1.0}}),
                 admin.post(f"{url}/artifacts", json={"name": "a", "path": "s3://b/a"}),
                 admin.post(f"/api/v1/experiments/{ids['experiment_id']}/runs", json={"parent_run_id": ids["run_id"]})]
    for response in responses:
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "not_found"
    assert ok(admin.get(f"/api/v1/experiments/{ids['experiment_id']}/runs"))["total"] == 0
    assert ok(admin.get(f"/api/v1/experiments/{ids['experiment_id']}"))["run_count"] == 0


def test_odd_but_valid_run_bodies(admin) -> None:
    ids = seed(admin)
    runs = f"/api/v1/experiments/{ids['experiment_id']}/runs"
    done = ok(admin.post(runs, json={"name": "imported", "status": "FINISHED", "start_time": "2024-01-15T10:30:00Z",
                                     "parameters": {"huge": 10**400, "nested": {"b": [1, 2]}, "flag": True}}), 201)
    assert done["status"] == "FINISHED" and done["end_time"] is not None and done["duration_ms"] >= 0
    assert done["parameters"] == {"huge": "1" + "0" * 400, "nested": '{"b": [1, 2]}', "flag": "true"}
    for commit in ("x" * 100, 5):
        run = ok(admin.post(runs, json={"environment": {"git_commit": commit}}), 201)
        assert run["git_commit"] is None and run["environment"] == {"git_commit": commit}
    run = ok(admin.post(runs, json={"environment": {"git_commit": "abc123"}}), 201)
    assert run["git_commit"] == "abc123"
    late = ok(admin.post(runs, json={"start_time": "9999-12-31T23:59:59.999Z"}), 201)
    assert ok(admin.get(f"/api/v1/runs/{late['id']}"))["start_time"] == "9999-12-31T23:59:59.999000Z"
