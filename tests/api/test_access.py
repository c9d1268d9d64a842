"""Who sees and changes what: team roles, no existence leak across teams, sharing, audit; the public surface."""
from __future__ import annotations

import io

from openapi_spec_validator import validate
from sqlalchemy import select

from db.models import AuditEvent
from tests.api.test_projects import SEED_PROJECT, ok, seed


def _tree(api) -> dict[str, str]:
    """The seeded project tree in ml-team, plus a stored artifact and some metrics."""
    ids = seed(api)
    rid = ids["run_id"]
    ok(api.post(f"/api/v1/runs/{rid}/metrics", json={"metrics": {"loss": 0.5}, "step": 1}), 201)
    art = ok(api.post(f"/api/v1/runs/{rid}/artifacts", data={"file": (io.BytesIO(b"weights"), "model.bin")},
                      content_type="multipart/form-data"), 201)
    return {**ids, "artifact_id": art["id"]}


def _reads(ids: dict[str, str]) -> list[str]:
    pid, eid, rid, aid = ids["project_id"], ids["experiment_id"], ids["run_id"], ids["artifact_id"]
    return [f"/api/v1/projects/{pid}", f"/api/v1/experiments/{eid}", f"/api/v1/experiments/{eid}/runs",
            f"/api/v1/experiments?project_id={pid}", f"/api/v1/runs/{rid}", f"/api/v1/runs/{rid}/metrics",
            f"/api/v1/runs/{rid}/metrics/loss", f"/api/v1/runs/{rid}/metrics/loss?buckets=10",
            f"/api/v1/runs/{rid}/artifacts", f"/api/v1/runs/{rid}/artifacts/{aid}/content"]


def _writes(api, ids: dict[str, str]) -> list:
    pid, eid, rid = ids["project_id"], ids["experiment_id"], ids["run_id"]
    return [
        api.patch(f"/api/v1/projects/{pid}", json={"description": "hacked"}),
        api.post("/api/v1/experiments", json={"project_id": pid, "name": "intruder"}),
        api.patch(f"/api/v1/experiments/{eid}", json={"description": "hacked"}),
        api.post(f"/api/v1/experiments/{eid}/runs", json={"name": "intruder"}),
        api.patch(f"/api/v1/runs/{rid}", json={"notes": "hacked"}),
        api.post(f"/api/v1/runs/{rid}/metrics", json={"metrics": {"loss": 9.0}, "step": 2}),
        api.post(f"/api/v1/runs/{rid}/artifacts", json={"name": "x", "path": "s3://b/x"}),
        api.post(f"/api/v1/runs/{rid}/artifacts", data={"file": (io.BytesIO(b"x"), "y.bin")},
                 content_type="multipart/form-data"),
        api.post(f"/api/v1/projects/{pid}/shares", json={"team": "cv-team", "role": "editor"}),
        api.delete(f"/api/v1/runs/{rid}"),
    ]


def _unchanged(api, ids: dict[str, str]) -> None:
    run = ok(api.get(f"/api/v1/runs/{ids['run_id']}"))
    assert run["notes"] == "" and run["metrics"]["loss"]["count"] == 1
    assert ok(api.get(f"/api/v1/projects/{ids['project_id']}"))["description"] == SEED_PROJECT["description"]
    assert ok(api.get(f"/api/v1/experiments?project_id={ids['project_id']}"))["total"] == 1
    assert ok(api.get(f"/api/v1/experiments/{ids['experiment_id']}/runs"))["total"] == 1
    assert ok(api.get(f"/api/v1/runs/{ids['run_id']}/artifacts"))["total"] == 1


def test_other_team_gets_404_and_sees_nothing(make_user) -> None:
    alice = make_user("alice", team="ml-team", role="admin")
    bob = make_user("bob", team="cv-team", role="editor")
    loner = make_user("loner")
    ids = _tree(alice)
    ok(bob.post("/api/v1/projects", json={**SEED_PROJECT, "team": "cv-team"}), 201)
    for outsider in (bob, loner):
        for url in _reads(ids):
            response = outsider.get(url)
            assert response.status_code == 404, (url, response.status_code)
            assert response.get_json()["error"]["code"] == "not_found"
        for response in _writes(outsider, ids):
            assert response.status_code == 404, response.get_data(as_text=True)
        assert ids["project_id"] not in {p["id"] for p in ok(outsider.get("/api/v1/projects?limit=1000"))["items"]}
        assert ok(outsider.get("/api/v1/projects?team=ml-team"))["total"] == 0
        assert ok(outsider.get("/api/v1/experiments"))["total"] == 0
        sneaky = outsider.post("/api/v1/projects", json={"name": "mine", "team": "ml-team"})
        assert sneaky.status_code == 404 and sneaky.get_json()["error"]["field"] == "team"
    assert ok(bob.get("/api/v1/projects"))["total"] == 1
    assert ok(loner.get("/api/v1/projects"))["total"] == 0
    _unchanged(alice, ids)


def test_viewer_reads_but_cannot_write_and_editor_writes(make_user, core) -> None:
    alice = make_user("alice", team="ml-team", role="admin")
    viewer = make_user("victor", team="ml-team", role="viewer")
    editor = make_user("edith", team="ml-team", role="editor")
    ids = _tree(alice)
    for url in _reads(ids):
        assert viewer.get(url).status_code == 200, url
    assert ok(viewer.get(f"/api/v1/runs/{ids['run_id']}/artifacts/{ids['artifact_id']}/content"), 200) is None
    assert viewer.get(f"/api/v1/runs/{ids['run_id']}/artifacts/{ids['artifact_id']}/content").data == b"weights"
    for response in _writes(viewer, ids):
        assert response.status_code == 403, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "forbidden"
    denied = viewer.post("/api/v1/projects", json={"name": "mine", "team": "ml-team"})
    assert denied.status_code == 403
    _unchanged(alice, ids)

    rid = ids["run_id"]
    ok(editor.patch(f"/api/v1/runs/{rid}", json={"notes": "by edith"}))
    ok(editor.post(f"/api/v1/runs/{rid}/metrics", json={"metrics": {"loss": 0.25}, "step": 2}), 201)
    ok(editor.post(f"/api/v1/experiments/{ids['experiment_id']}/runs", json={"name": "edith-run"}), 201)
    ok(editor.post("/api/v1/projects", json={"name": "edith-project", "team": "ml-team"}), 201)
    share = editor.post(f"/api/v1/projects/{ids['project_id']}/shares", json={"team": "ml-team", "role": "viewer"})
    assert share.status_code == 403  # sharing is for the project's admins
    assert ok(viewer.get(f"/api/v1/runs/{rid}"))["notes"] == "by edith"

    with core.sessions() as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.user_id, AuditEvent.entity_id)).all()
    by_action = {}
    for action, user_id, entity in rows:
        by_action.setdefault(action, []).append((user_id, entity))
    edith = ok(editor.get("/api/v1/me"))["user_id"]
    assert (edith, rid) in by_action["run.update"] and (edith, rid) in by_action["metrics.log"]
    assert any(user == edith for user, _ in by_action["run.create"])
    assert any(user == edith for user, _ in by_action["project.create"])
    for action in ("project.create", "experiment.create", "run.create", "metrics.log", "artifact.upload"):
        assert action in by_action, action
    victor = ok(viewer.get("/api/v1/me"))["user_id"]
    assert [a for a, pairs in by_action.items() if any(u == victor for u, _ in pairs)] == ["token.create"]


def test_sharing_with_another_team(make_user, core) -> None:
    alice = make_user("alice", team="ml-team", role="admin")
    bob = make_user("bob", team="cv-team", role="editor")
    ids = _tree(alice)
    url = f"/api/v1/projects/{ids['project_id']}/shares"
    ok(alice.post(url, json={"team": "cv-team", "role": "viewer"}))
    for read in _reads(ids):
        assert bob.get(read).status_code == 200, read
    assert [p["id"] for p in ok(bob.get("/api/v1/projects?team=ml-team"))["items"]] == [ids["project_id"]]
    assert ok(bob.get("/api/v1/experiments"))["total"] == 1
    for response in _writes(bob, ids):
        assert response.status_code == 403, response.get_data(as_text=True)
    _unchanged(alice, ids)

    ok(alice.post(url, json={"team": "cv-team", "role": "editor"}))
    ok(bob.patch(f"/api/v1/runs/{ids['run_id']}", json={"notes": "from cv-team"}))
    assert bob.post(url, json={"team": "cv-team", "role": "editor"}).status_code == 403

    ok(alice.post(url, json={"team": "cv-team", "role": None}))
    assert bob.get(f"/api/v1/projects/{ids['project_id']}").status_code == 404
    assert ok(bob.get("/api/v1/projects"))["total"] == 0
    with core.sessions() as session:
        shares = session.execute(select(AuditEvent.after).where(AuditEvent.action == "project.share")).scalars()
        assert [s["role"] for s in shares] == ["viewer", "editor", None]


def test_public_surface(client, admin) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    doc = spec.get_json()
    validate(doc)
    paths = doc["paths"]
    for path, method in (("/api/v1/projects", "post"), ("/api/v1/projects", "get"),
                         ("/api/v1/projects/{project_id}", "get"), ("/api/v1/experiments", "post"),
                         ("/api/v1/experiments/{experiment_id}/runs", "post"), ("/api/v1/runs/{run_id}", "patch"),
                         ("/api/v1/runs/{run_id}/metrics", "post"), ("/api/v1/runs/{run_id}/metrics/{key}", "get"),
                         ("/api/v1/runs/{run_id}/artifacts", "post"), ("/api/v1/auth/token", "post")):
        assert method in paths.get(path, {}), (path, method)
    schemas = doc["components"]["schemas"]
    for path, operations in paths.items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            for status in ("400", "404"):
                if path == "/api/v1/auth/token" and status == "404":
                    continue
                ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                name = ref.rsplit("/", 1)[-1]
                assert set(schemas[name]["properties"]) == {"error"}, (path, method, status)
            if method in ("post", "patch", "put") and path != "/api/v1/auth/token":
                assert "413" in operation["responses"], (path, method)
    assert "MAX_REQUEST_BYTES" in str(doc["info"]) + str(doc.get("paths"))
    # the dashboard still answers outside /api
    assert client.get("/healthz").mimetype == "application/json"
    assert ok(admin.get("/api/v1/me"))["is_admin"] is True


def test_role_changes_apply_to_existing_tokens_at_once(core, make_user) -> None:
    from services import accounts

    owner = make_user("olga", team="ml-team", role="editor")
    member = make_user("max", team="ml-team", role="editor")
    pid = owner.post("/api/v1/projects", json={"name": "p", "team": "ml-team"}).get_json()["id"]
    assert member.get(f"/api/v1/projects/{pid}").status_code == 200  # token now cached with the editor role
    accounts.set_membership(core, None, "ml-team", "max", None)
    assert member.get(f"/api/v1/projects/{pid}").status_code == 404


def test_every_write_is_audited(admin, core) -> None:
    from sqlalchemy import func

    def count() -> int:
        with core.sessions() as session:
            return session.execute(select(func.count(AuditEvent.id))).scalar_one()

    ids = _tree(admin)
    pid, eid, rid = ids["project_id"], ids["experiment_id"], ids["run_id"]
    token = ok(admin.get("/api/v1/tokens"))["items"][0]["id"]
    writes = [
        lambda: admin.post("/api/v1/projects", json={"name": "audited", "team": "ml-team"}),
        lambda: admin.patch(f"/api/v1/projects/{pid}", json={"description": "d"}),
        lambda: admin.post(f"/api/v1/projects/{pid}/shares", json={"team": "ml-team", "role": "viewer"}),
        lambda: admin.post("/api/v1/experiments", json={"project_id": pid, "name": "audited"}),
        lambda: admin.patch(f"/api/v1/experiments/{eid}", json={"description": "d"}),
        lambda: admin.post(f"/api/v1/experiments/{eid}/runs", json={"name": "audited"}),
        lambda: admin.patch(f"/api/v1/runs/{rid}", json={"notes": "n"}),
        lambda: admin.post(f"/api/v1/runs/{rid}/metrics", json={"steps": [{"metrics": {"x": 1.0}, "step": 1}]}),
        lambda: admin.post(f"/api/v1/runs/{rid}/artifacts", json={"name": "r", "path": "s3://b/r"}),
        lambda: admin.post(f"/api/v1/runs/{rid}/artifacts/upload", data={"file": (io.BytesIO(b"u"), "u.bin")},
                           content_type="multipart/form-data"),
        lambda: admin.delete(f"/api/v1/runs/{rid}"),
        lambda: admin.delete(f"/api/v1/tokens/{token}"),
    ]
    for index, write in enumerate(writes):
        before = count()
        response = write()
        assert response.status_code < 300, (index, response.get_data(as_text=True))
        assert count() > before, index
