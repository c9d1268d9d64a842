"""Notes and chart annotations on a run: add, list with author, anchor validation, access, delete."""
from __future__ import annotations


def _run(api) -> str:  # noqa: ANN001
    pid = api.post("/api/v1/projects", json={"name": "p", "team": "ml-team"}).get_json()["id"]
    eid = api.post("/api/v1/experiments", json={"project_id": pid, "name": "e"}).get_json()["id"]
    return api.post(f"/api/v1/experiments/{eid}/runs", json={}).get_json()["id"]


def test_annotations_are_listed_with_author_and_anchor(make_user) -> None:
    alice = make_user("alice", team="ml-team", role="editor")
    run_id = _run(alice)
    plain = alice.post(f"/api/v1/runs/{run_id}/notes", json={"body": "**baseline** looks fine"})
    anchored = alice.post(f"/api/v1/runs/{run_id}/notes", json={"body": "spike", "metric_key": "loss", "step": 40})
    assert plain.status_code == 201 and anchored.status_code == 201
    items = alice.get(f"/api/v1/runs/{run_id}/notes").get_json()["items"]
    assert [(n["body"], n["author"], n["metric_key"], n["step"]) for n in items] == [
        ("**baseline** looks fine", "alice", None, None), ("spike", "alice", "loss", 40)]


def test_bad_notes_are_refused_and_nothing_is_written(make_user) -> None:
    alice = make_user("alice", team="ml-team", role="editor")
    run_id = _run(alice)
    for body in ({"body": ""}, {"body": "x", "metric_key": "loss"}, {"body": "x", "step": "3", "metric_key": "a"},
                 {"body": "x" * 20_001}):
        response = alice.post(f"/api/v1/runs/{run_id}/notes", json=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["field"]
    assert alice.get(f"/api/v1/runs/{run_id}/notes").get_json()["items"] == []


def test_viewers_read_but_cannot_annotate_and_only_authors_delete(make_user) -> None:
    alice = make_user("alice", team="ml-team", role="editor")
    bob = make_user("bob", team="ml-team", role="editor")
    viewer = make_user("vera", team="ml-team", role="viewer")
    run_id = _run(alice)
    note_id = alice.post(f"/api/v1/runs/{run_id}/notes", json={"body": "mine"}).get_json()["id"]
    assert viewer.post(f"/api/v1/runs/{run_id}/notes", json={"body": "hi"}).status_code == 403
    assert len(viewer.get(f"/api/v1/runs/{run_id}/notes").get_json()["items"]) == 1
    assert bob.delete(f"/api/v1/runs/{run_id}/notes/{note_id}").status_code == 403
    assert alice.delete(f"/api/v1/runs/{run_id}/notes/{note_id}").status_code == 204
    assert alice.get(f"/api/v1/runs/{run_id}/notes").get_json()["items"] == []
