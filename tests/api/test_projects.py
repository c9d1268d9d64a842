"""Projects and experiments over /api/v1: the seed's bodies, filters, paging, updates, conflicts."""
from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD

SEED_PROJECT = {"name": "healthcare-ai-experiments", "description": "Healthcare AI model development",
                "team": "ml-team", "tags": ["healthcare", "classification"]}
SEED_EXPERIMENT = {"name": "baseline-model-v1", "description": "Initial healthcare classification model",
                   "hypothesis": "TF-IDF + MultinomialNB will achieve >95% accuracy", "tags": ["baseline", "sklearn"]}
SEED_RUN = {"name": "run-001", "parameters": {"algorithm": "MultinomialNB", "alpha": 0.1, "max_features": 10000},
            "environment": {"python_version": "3.9.6", "sklearn_version": "1.3.0"}}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    return response.get_json()


def seed(api: Any, team: str = "ml-team", project: str = "healthcare-ai-experiments") -> dict[str, str]:
    """A project, experiment and run from the seed's bodies; returns their ids."""
    pid = ok(api.post("/api/v1/projects", json={**SEED_PROJECT, "name": project, "team": team}), 201)["id"]
    eid = ok(api.post("/api/v1/experiments", json={**SEED_EXPERIMENT, "project_id": pid}), 201)["id"]
    rid = ok(api.post(f"/api/v1/experiments/{eid}/runs", json=SEED_RUN), 201)["id"]
    return {"project_id": pid, "experiment_id": eid, "run_id": rid}


def walk(api: Any, url: str, limit: int) -> tuple[list[dict], list[int]]:
    """Follow next_cursor to the end; returns all items and the `total` each page reported."""
    items: list[dict] = []
    totals: list[int] = []
    cursor = None
    sep = "&" if "?" in url else "?"
    for _ in range(1000):
        page = ok(api.get(f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")))
        assert len(page["items"]) <= limit
        items += page["items"]
        totals.append(page["total"])
        cursor = page["next_cursor"]
        if not cursor:
            return items, totals
    raise AssertionError("paging never ended")


def test_seed_project_and_experiment_round_trip(admin) -> None:
    project = ok(admin.post("/api/v1/projects", json=SEED_PROJECT), 201)
    assert project["name"] == SEED_PROJECT["name"] and project["team"] == "ml-team"
    assert sorted(project["tags"]) == ["classification", "healthcare"]
    assert project["description"] == SEED_PROJECT["description"]
    got = ok(admin.get(f"/api/v1/projects/{project['id']}"))
    assert got["id"] == project["id"] and got["experiment_count"] == 0 and got["run_count"] == 0

    exp = ok(admin.post("/api/v1/experiments", json={**SEED_EXPERIMENT, "project_id": project["id"]}), 201)
    assert exp["project_id"] == project["id"] and exp["hypothesis"] == SEED_EXPERIMENT["hypothesis"]
    assert sorted(exp["tags"]) == ["baseline", "sklearn"]
    ok(admin.post(f"/api/v1/experiments/{exp['id']}/runs", json=SEED_RUN), 201)
    got = ok(admin.get(f"/api/v1/experiments/{exp['id']}"))
    assert got["name"] == "baseline-model-v1" and got["run_count"] == 1
    got = ok(admin.get(f"/api/v1/projects/{project['id']}"))
    assert got["experiment_count"] == 1 and got["run_count"] == 1

    listed = ok(admin.get(f"/api/v1/experiments?project_id={project['id']}&tag=sklearn"))
    assert [e["id"] for e in listed["items"]] == [exp["id"]] and listed["total"] == 1
    assert ok(admin.get(f"/api/v1/experiments?project_id={project['id']}&tag=other"))["total"] == 0


def test_project_filters_by_team_and_tag(admin) -> None:
    a = ok(admin.post("/api/v1/projects", json=SEED_PROJECT), 201)["id"]
    b = ok(admin.post("/api/v1/projects", json={**SEED_PROJECT, "name": "vision", "tags": ["vision"]}), 201)["id"]
    c = ok(admin.post("/api/v1/projects", json={**SEED_PROJECT, "team": "cv-team"}), 201)["id"]

    def ids(query: str) -> set[str]:
        page = ok(admin.get(f"/api/v1/projects{query}"))
        assert page["total"] == len(page["items"])
        return {p["id"] for p in page["items"]}

    assert ids("") == {a, b, c}
    assert ids("?team=ml-team&tag=healthcare") == {a}
    assert ids("?team=ml-team") == {a, b}
    assert ids("?tag=healthcare") == {a, c}
    assert ids("?team=cv-team&tag=vision") == set()
    assert ids("?team=no-such-team") == set()


def test_every_list_pages_with_limit_cursor_and_total(admin) -> None:
    ids = seed(admin)
    names = [f"p-{i:02d}" for i in range(7)]
    for name in names:
        ok(admin.post("/api/v1/projects", json={"name": name, "team": "ml-team"}), 201)
    items, totals = walk(admin, "/api/v1/projects", 3)
    assert len(items) == 8 and len({p["id"] for p in items}) == 8 and set(totals) == {8}

    for i in range(4):
        ok(admin.post("/api/v1/experiments", json={"project_id": ids["project_id"], "name": f"e-{i}"}), 201)
    items, totals = walk(admin, f"/api/v1/experiments?project_id={ids['project_id']}", 2)
    assert len({e["id"] for e in items}) == 5 and set(totals) == {5}

    for i in range(4):
        ok(admin.post(f"/api/v1/experiments/{ids['experiment_id']}/runs", json={"name": f"r-{i}"}), 201)
    items, totals = walk(admin, f"/api/v1/experiments/{ids['experiment_id']}/runs", 2)
    assert len({r["id"] for r in items}) == 5 and set(totals) == {5}

    for i in range(5):
        ok(admin.post(f"/api/v1/runs/{ids['run_id']}/artifacts",
                      json={"name": f"a-{i}.txt", "path": f"s3://b/a-{i}.txt"}), 201)
    items, totals = walk(admin, f"/api/v1/runs/{ids['run_id']}/artifacts", 2)
    assert sorted(a["name"] for a in items) == [f"a-{i}.txt" for i in range(5)] and set(totals) == {5}

    for i in range(2):
        ok(admin.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD, "name": f"t{i}"}), 201)
    items, totals = walk(admin, "/api/v1/tokens", 2)
    assert len({t["id"] for t in items}) == 3 and set(totals) == {3}

    assert ok(admin.get("/api/v1/projects?limit=1000"))["total"] == 8
    for bad in ("limit=0", "limit=1001", "limit=abc", "cursor=not-a-cursor", "cursor=eyJvIjotMX0"):
        body = admin.get(f"/api/v1/projects?{bad}")
        assert body.status_code == 400, bad
        assert body.get_json()["error"]["field"] in ("limit", "cursor")


def test_update_project_and_experiment(admin) -> None:
    ids = seed(admin)
    got = ok(admin.patch(f"/api/v1/projects/{ids['project_id']}", json={"description": "new", "tags": ["x"]}))
    assert got["description"] == "new" and got["tags"] == ["x"]
    assert ok(admin.get(f"/api/v1/projects/{ids['project_id']}"))["tags"] == ["x"]
    got = ok(admin.patch(f"/api/v1/experiments/{ids['experiment_id']}",
                         json={"name": "renamed", "status": "archived"}))
    assert got["name"] == "renamed" and got["status"] == "archived"
    got = ok(admin.get(f"/api/v1/experiments/{ids['experiment_id']}"))
    assert got["name"] == "renamed" and got["hypothesis"] == SEED_EXPERIMENT["hypothesis"]


def test_duplicate_names_conflict_and_write_nothing(admin) -> None:
    ids = seed(admin)
    again = admin.post("/api/v1/projects", json=SEED_PROJECT)
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "name"
    again = admin.post("/api/v1/experiments", json={**SEED_EXPERIMENT, "project_id": ids["project_id"]})
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "name"
    assert ok(admin.get("/api/v1/projects"))["total"] == 1
    assert ok(admin.get("/api/v1/experiments"))["total"] == 1
    other = ok(admin.post("/api/v1/experiments", json={"project_id": ids["project_id"], "name": "second"}), 201)
    clash = admin.patch(f"/api/v1/experiments/{other['id']}", json={"name": SEED_EXPERIMENT["name"]})
    assert clash.status_code == 409, clash.get_json()
    assert ok(admin.get(f"/api/v1/experiments/{other['id']}"))["name"] == "second"


def test_every_list_endpoint_is_paged(admin, backend) -> None:
    """Any GET under /api/v1 that answers {"items": [...]} honours limit and reports next_cursor and total."""
    import re

    ids = seed(admin)
    rid = ids["run_id"]
    for i in range(2):
        ok(admin.post(f"/api/v1/runs/{rid}/metrics", json={"metrics": {"loss": float(i)}, "step": i}), 201)
        ok(admin.post(f"/api/v1/runs/{rid}/artifacts", json={"name": f"a{i}", "path": f"s3://b/a{i}"}), 201)
        ok(admin.post(f"/api/v1/experiments/{ids['experiment_id']}/runs", json={"name": f"r{i}"}), 201)
        ok(admin.post("/api/v1/projects", json={"name": f"p{i}", "team": "ml-team"}), 201)
        ok(admin.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}), 201)
        admin.post(f"/api/v1/runs/{rid}/notes", json={"body": f"note {i}"})
        admin.post(f"/api/v1/experiments/{ids['experiment_id']}/promotion-hooks",
                   json={"criteria": {"loss": "<= 1"}, "registry_url": "http://registry:8000"})
    values = {**ids, "key": "loss"}
    checked = []
    for rule in backend.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "GET" not in (rule.methods or ()):
            continue
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values.get(m.group(1), "none"), rule.rule)
        if "none" in url.split("/"):
            continue
        full = admin.get(url)
        body = full.get_json(silent=True) if full.status_code == 200 else None
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            continue
        assert "total" in body and "next_cursor" in body, url
        if len(body["items"]) >= 2:
            one = ok(admin.get(f"{url}?limit=1"))
            assert len(one["items"]) == 1 and one["next_cursor"] and one["total"] == body["total"], url
            checked.append(url)
    assert len(checked) >= 6, checked
