"""Resource usage and cost on SQLite and Postgres with hand-computed numbers: logged figures, figures from system
metrics, figures declared in the environment; team rates; totals per run, experiment, project and team;
permissions and bad input (always a 4xx envelope)."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from tests.conftest import Api

T0 = 1_700_000_000_000  # epoch ms
HOUR = 3_600_000
approx = pytest.approx


def make_run(api: Api, experiment_id: str, name: str, hours: float | None, environment: dict | None = None,
             metrics: list[dict] | None = None) -> str:
    """A run started at T0 that finished `hours` later (None: still RUNNING), with system metrics logged."""
    created = api.post(f"/api/v1/experiments/{experiment_id}/runs",
                       json={"name": name, "start_time": T0, "environment": environment or {}})
    assert created.status_code == 201, created.get_json()
    run_id = created.get_json()["id"]
    if metrics:
        response = api.post(f"/api/v1/runs/{run_id}/metrics", json={"steps": metrics})
        assert response.status_code == 201, response.get_json()
    if hours is not None:
        response = api.patch(f"/api/v1/runs/{run_id}", json={"status": "FINISHED", "end_time": T0 + int(hours * HOUR)})
        assert response.status_code == 200, response.get_json()
    return run_id


def put(api: Api, url: str, body: Any = None, **kw: Any) -> Any:
    """Api has no put(): the same call with the token."""
    return api.client.put(url, json=body, headers={"Authorization": f"Bearer {api.token}", **kw.pop("headers", {})},
                          **kw)


def ok(response: Any, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def error(response: Any, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()["error"]
    assert set(body) <= {"code", "message", "field"} and body["message"]
    return body


@pytest.fixture
def world(make_user: Callable[..., Api]) -> dict[str, Any]:
    alice = make_user("alice", team="ml-team", role="admin")
    bob = make_user("bob", team="ml-team", role="editor")
    victor = make_user("victor", team="ml-team", role="viewer")
    vera = make_user("vera", team="vision", role="admin")
    mallory = make_user("mallory", team="other-team", role="admin")

    p1 = ok(alice.post("/api/v1/projects", json={"name": "p1", "team": "ml-team"}), 201)["id"]
    p2 = ok(alice.post("/api/v1/projects", json={"name": "p2", "team": "ml-team"}), 201)["id"]
    e1 = ok(alice.post("/api/v1/experiments", json={"project_id": p1, "name": "e1"}), 201)["id"]
    e2 = ok(alice.post("/api/v1/experiments", json={"project_id": p1, "name": "e2"}), 201)["id"]
    e3 = ok(alice.post("/api/v1/experiments", json={"project_id": p2, "name": "e3"}), 201)["id"]

    # declared: 8 CPUs, 1 GPU, 16 GB for 2 h -> 16 cpu-h, 2 gpu-h, 32 GB-h = 0.80 + 5.00 + 0.16 = 5.96
    r1 = make_run(alice, e1, "declared", 2, {"cpu_count": 8, "gpu_count": 1, "memory_gb": 16})
    # logged: 10 cpu-h, 0 gpu-h, 4 GB for 1 h -> 0.50 + 0 + 0.02 = 0.52 (the declared 2 CPUs lose to the log)
    r2 = make_run(alice, e1, "logged", 1, {"cpu_count": 2})
    ok(bob.post(f"/api/v1/runs/{r2}/resources", json={"cpu_hours": 10, "gpu_hours": 0.0, "peak_memory_gb": 4}))
    # system metrics over 3 h on 4 CPUs: mean cpu 50 % -> 6 cpu-h; GPUs mean 75 % + 50 % -> 3.75 gpu-h;
    # peak RSS 2048 MB -> 2 GB -> 6 GB-h. 250 % and a negative RSS are junk and ignored.
    # 0.30 + 9.375 + 0.03 = 9.705
    system = [{"metrics": {"system/cpu_percent": 50, "system/gpu0/utilization_percent": 100,
                           "system/gpu1/utilization_percent": 50, "system/process_rss_mb": 1024,
                           "system/memory_used_mb": 8192}, "step": 0},
              {"metrics": {"system/cpu_percent": 100, "system/gpu0/utilization_percent": 50,
                           "system/gpu1/utilization_percent": 50, "system/process_rss_mb": 2048}, "step": 1},
              {"metrics": {"system/cpu_percent": 0, "system/process_rss_mb": -5}, "step": 2},
              {"metrics": {"system/cpu_percent": 50, "loss": 0.1}, "step": 3},
              {"metrics": {"system/cpu_percent": 250}, "step": 4}]
    r3 = make_run(alice, e2, "system", 3, {"cpu_count": 4}, system)
    # nothing usable: a string, an absurd count, a negative size -> every figure null, cost 0
    r4 = make_run(alice, e2, "unknown", 5, {"cpu_count": "eight", "gpu_count": 10**30, "memory_gb": -1})
    # deleted runs never count
    r5 = make_run(alice, e1, "deleted", 10, {"cpu_count": 100})
    assert alice.delete(f"/api/v1/runs/{r5}").status_code == 204
    # p2: a logged GPU hour -> 2.50
    r6 = make_run(alice, e3, "p2-run", 1)
    ok(alice.post(f"/api/v1/runs/{r6}/resources", json={"gpu_hours": 1}))

    pv = ok(vera.post("/api/v1/projects", json={"name": "pv", "team": "vision"}), 201)["id"]
    ev = ok(vera.post("/api/v1/experiments", json={"project_id": pv, "name": "ev"}), 201)["id"]
    rv = make_run(vera, ev, "vision-run", 1, {"gpu_count": 2})
    return {"alice": alice, "bob": bob, "victor": victor, "vera": vera, "mallory": mallory, "p1": p1, "p2": p2,
            "e1": e1, "e2": e2, "e3": e3, "runs": [r1, r2, r3, r4, r5, r6], "pv": pv, "ev": ev, "rv": rv}


# ---------------------------------------------------------------- per run


def test_declared_resources_times_duration(world: dict) -> None:
    cost = ok(world["victor"].get(f"/api/v1/runs/{world['runs'][0]}/cost"))
    assert cost["duration_hours"] == 2 and cost["running"] is False and cost["status"] == "FINISHED"
    assert cost["resources"] == {"cpu_hours": 16, "gpu_hours": 2, "peak_memory_gb": 16, "memory_gb_hours": 32}
    assert cost["sources"] == {"cpu_hours": "declared", "gpu_hours": "declared", "peak_memory_gb": "declared"}
    assert cost["rates"] == {"cpu_per_hour": 0.05, "gpu_per_hour": 2.5, "memory_per_gb_hour": 0.005,
                             "currency": "USD"}
    assert cost["cost"] == {"cpu": approx(0.8), "gpu": approx(5.0), "memory": approx(0.16), "total": approx(5.96),
                            "currency": "USD"}
    assert (cost["run_id"], cost["experiment_id"], cost["project_id"]) == (world["runs"][0], world["e1"], world["p1"])


def test_logged_figures_win_and_null_clears_them(world: dict) -> None:
    bob, r2 = world["bob"], world["runs"][1]
    cost = ok(bob.get(f"/api/v1/runs/{r2}/cost"))
    assert cost["resources"] == {"cpu_hours": 10, "gpu_hours": 0, "peak_memory_gb": 4, "memory_gb_hours": 4}
    assert cost["sources"] == {"cpu_hours": "logged", "gpu_hours": "logged", "peak_memory_gb": "logged"}
    assert cost["cost"]["total"] == approx(0.52)

    # only the fields sent change; null clears a logged figure, which falls back to the declared 2 CPUs x 1 h
    answer = ok(bob.post(f"/api/v1/runs/{r2}/resources", json={"cpu_hours": None}))
    assert answer["resources"]["cpu_hours"] == 2 and answer["sources"]["cpu_hours"] == "declared"
    assert answer["resources"]["peak_memory_gb"] == 4 and answer["sources"]["peak_memory_gb"] == "logged"
    read = ok(bob.get(f"/api/v1/runs/{r2}/resources"))
    assert read["resources"] == answer["resources"] and read["sources"] == answer["sources"]
    assert "cost" not in read and "rates" not in read
    assert ok(bob.get(f"/api/v1/runs/{r2}/cost"))["cost"]["total"] == approx(0.1 + 0.02)


def test_figures_from_system_metrics(world: dict) -> None:
    cost = ok(world["alice"].get(f"/api/v1/runs/{world['runs'][2]}/cost"))
    assert cost["resources"] == {"cpu_hours": approx(6), "gpu_hours": approx(3.75), "peak_memory_gb": approx(2),
                                 "memory_gb_hours": approx(6)}
    assert cost["sources"] == {"cpu_hours": "system_metrics", "gpu_hours": "system_metrics",
                               "peak_memory_gb": "system_metrics"}
    assert cost["cost"]["cpu"] == approx(0.3) and cost["cost"]["gpu"] == approx(9.375)
    assert cost["cost"]["total"] == approx(9.705)


def test_whole_machine_gpu_metric_and_used_memory_fallback(world: dict) -> None:
    alice = world["alice"]
    run_id = make_run(alice, world["e3"], "gpu-mean", 2, {"gpu_count": 4}, [
        {"metrics": {"system/gpu_utilization": 25, "system/memory_used_mb": 4096}, "step": 0},
        {"metrics": {"system/gpu_utilization": 75, "system/memory_used_mb": 3072}, "step": 1}])
    cost = ok(alice.get(f"/api/v1/runs/{run_id}/cost"))
    # mean 50 % of 4 GPUs for 2 h -> 4 gpu-h; no cpu_percent and no cpu_count -> unknown; 4 GB peak -> 8 GB-h
    assert cost["resources"] == {"cpu_hours": None, "gpu_hours": approx(4), "peak_memory_gb": approx(4),
                                 "memory_gb_hours": approx(8)}
    assert cost["sources"] == {"cpu_hours": None, "gpu_hours": "system_metrics", "peak_memory_gb": "system_metrics"}
    assert cost["cost"]["total"] == approx(10 + 0.04)


def test_unusable_declarations_are_ignored_not_errors(world: dict) -> None:
    cost = ok(world["alice"].get(f"/api/v1/runs/{world['runs'][3]}/cost"))
    assert cost["resources"] == {"cpu_hours": None, "gpu_hours": None, "peak_memory_gb": None,
                                 "memory_gb_hours": None}
    assert cost["sources"] == {"cpu_hours": None, "gpu_hours": None, "peak_memory_gb": None}
    assert cost["cost"]["total"] == 0


def test_a_running_run_counts_until_now(world: dict) -> None:
    alice = world["alice"]
    started = int(time.time() * 1000) - HOUR
    created = ok(alice.post(f"/api/v1/experiments/{world['e3']}/runs", json={
        "name": "live", "start_time": started, "environment": {"cpu_count": 3}}), 201)
    first = ok(alice.get(f"/api/v1/runs/{created['id']}/cost"))
    assert first["running"] is True and first["sources"]["cpu_hours"] == "declared"
    assert first["duration_hours"] == approx(1, abs=0.02) and first["resources"]["cpu_hours"] == approx(3, abs=0.06)
    assert first["cost"]["total"] == approx(0.15, abs=0.003)
    scheduled = ok(alice.post(f"/api/v1/experiments/{world['e3']}/runs", json={
        "name": "later", "status": "SCHEDULED", "start_time": T0, "environment": {"cpu_count": 3}}), 201)
    assert ok(alice.get(f"/api/v1/runs/{scheduled['id']}/cost"))["duration_hours"] == 0


# ---------------------------------------------------------------- totals


def test_experiment_project_and_team_totals(world: dict) -> None:
    victor = world["victor"]
    e1 = ok(victor.get(f"/api/v1/experiments/{world['e1']}/cost"))
    assert e1["runs"] == 2 and e1["run_hours"] == 3
    assert e1["resources"] == {"cpu_hours": 26, "gpu_hours": 2, "memory_gb_hours": 36, "peak_memory_gb": 16}
    assert e1["cost"] == {"cpu": approx(1.3), "gpu": approx(5.0), "memory": approx(0.18), "total": approx(6.48),
                          "currency": "USD"}
    assert e1["rates"]["custom"] is False

    e2 = ok(victor.get(f"/api/v1/experiments/{world['e2']}/cost"))
    assert e2["runs"] == 2 and e2["cost"]["total"] == approx(9.705)

    p1 = ok(victor.get(f"/api/v1/projects/{world['p1']}/cost"))
    assert p1["runs"] == 4 and p1["cost"]["total"] == approx(6.48 + 9.705)
    assert p1["resources"] == {"cpu_hours": approx(32), "gpu_hours": approx(5.75), "memory_gb_hours": approx(42),
                               "peak_memory_gb": 16}
    assert [(e["name"], e["runs"], e["cost"]["total"]) for e in p1["by_experiment"]] == [
        ("e1", 2, approx(6.48)), ("e2", 2, approx(9.705))]
    assert p1["by_experiment"][0]["id"] == world["e1"]

    team = ok(victor.get("/api/v1/teams/ml-team/cost"))
    assert team["team"] == "ml-team" and team["runs"] == 5
    assert team["cost"]["total"] == approx(6.48 + 9.705 + 2.5)
    assert [(p["name"], p["runs"], p["cost"]["total"]) for p in team["by_project"]] == [
        ("p1", 4, approx(16.185)), ("p2", 1, approx(2.5))]
    by_id = ok(victor.get(f"/api/v1/teams/{team['team_id']}/cost"))
    assert by_id["cost"] == team["cost"]

    vision = ok(world["vera"].get("/api/v1/teams/vision/cost"))
    assert vision["runs"] == 1 and vision["cost"]["total"] == approx(5.0)


def test_empty_scopes_cost_nothing(world: dict, make_user: Callable[..., Api]) -> None:
    alice = world["alice"]
    empty = ok(alice.post("/api/v1/experiments", json={"project_id": world["p2"], "name": "empty"}), 201)["id"]
    answer = ok(alice.get(f"/api/v1/experiments/{empty}/cost"))
    assert answer["runs"] == 0 and answer["cost"]["total"] == 0
    assert answer["resources"] == {"cpu_hours": 0, "gpu_hours": 0, "memory_gb_hours": 0, "peak_memory_gb": None}
    newbie = make_user("newbie", team="fresh-team", role="admin")
    assert ok(newbie.get("/api/v1/teams/fresh-team/cost"))["by_project"] == []


def test_many_runs_sum_in_sql(world: dict) -> None:
    alice = world["alice"]
    exp = ok(alice.post("/api/v1/experiments", json={"project_id": world["p2"], "name": "sweep"}), 201)["id"]
    for i in range(30):
        make_run(alice, exp, f"trial-{i}", 0.5, {"cpu_count": 2, "gpu_count": 1, "memory_gb": 8},
                 [{"metrics": {"system/cpu_percent": 25.0}, "step": 0}] if i % 2 else None)
    # even trials declared: 1 cpu-h, 0.5 gpu-h, 4 GB-h; odd trials: 25 % of 2 CPUs for 0.5 h = 0.25 cpu-h
    answer = ok(alice.get(f"/api/v1/experiments/{exp}/cost"))
    assert answer["runs"] == 30
    assert answer["resources"] == {"cpu_hours": approx(15 * 1 + 15 * 0.25), "gpu_hours": approx(15),
                                   "memory_gb_hours": approx(120), "peak_memory_gb": 8}
    assert answer["cost"]["total"] == approx(18.75 * 0.05 + 15 * 2.5 + 120 * 0.005)


# ---------------------------------------------------------------- rates


def test_team_admins_set_rates_and_costs_follow(world: dict) -> None:
    alice, bob, victor = world["alice"], world["bob"], world["victor"]
    assert ok(victor.get("/api/v1/teams/ml-team/rates")) == {
        "team": "ml-team", "cpu_per_hour": 0.05, "gpu_per_hour": 2.5, "memory_per_gb_hour": 0.005, "currency": "USD",
        "custom": False, "defaults": {"cpu_per_hour": 0.05, "gpu_per_hour": 2.5, "memory_per_gb_hour": 0.005}}

    rates = ok(put(alice, "/api/v1/teams/ml-team/rates", {"gpu_per_hour": 3.0}))
    assert (rates["cpu_per_hour"], rates["gpu_per_hour"], rates["memory_per_gb_hour"], rates["custom"]) == \
        (0.05, 3.0, 0.005, True)
    assert ok(victor.get(f"/api/v1/runs/{world['runs'][0]}/cost"))["cost"]["total"] == approx(0.8 + 6.0 + 0.16)
    ok(put(alice, "/api/v1/teams/ml-team/rates", {"cpu_per_hour": 0.1, "memory_per_gb_hour": 0}))
    run = ok(victor.get(f"/api/v1/runs/{world['runs'][0]}/cost"))
    assert run["rates"] == {"cpu_per_hour": 0.1, "gpu_per_hour": 3.0, "memory_per_gb_hour": 0, "currency": "USD"}
    assert run["cost"]["total"] == approx(1.6 + 6.0)
    team = ok(victor.get("/api/v1/teams/ml-team/cost"))
    assert team["cost"]["total"] == approx(32 * 0.1 + 5.75 * 3.0 + 1 * 3.0)
    assert team["rates"]["gpu_per_hour"] == 3.0
    # another team's rates are its own
    ok(put(world["vera"], "/api/v1/teams/vision/rates", {"gpu_per_hour": 1.0}))
    assert ok(world["vera"].get("/api/v1/teams/vision/cost"))["cost"]["total"] == approx(2.0)
    assert ok(victor.get("/api/v1/teams/ml-team/cost"))["cost"] == team["cost"]

    assert error(put(bob, "/api/v1/teams/ml-team/rates", {"gpu_per_hour": 0}), 403)["code"] == "forbidden"
    assert error(put(victor, "/api/v1/teams/ml-team/rates", {"gpu_per_hour": 0}), 403)["code"] == "forbidden"
    assert ok(victor.get("/api/v1/teams/ml-team/rates"))["gpu_per_hour"] == 3.0  # refused changes changed nothing


def test_site_admin_reads_and_sets_any_team(world: dict, admin: Api) -> None:
    ok(put(admin, "/api/v1/teams/vision/rates", {"cpu_per_hour": 1}))
    assert ok(admin.get("/api/v1/teams/vision/cost"))["runs"] == 1
    assert ok(admin.get(f"/api/v1/runs/{world['rv']}/cost"))["rates"]["cpu_per_hour"] == 1


# ---------------------------------------------------------------- permissions


def test_outsiders_get_404_everywhere_without_existence_leaks(world: dict) -> None:
    mallory = world["mallory"]
    for path in (f"/api/v1/runs/{world['runs'][0]}/cost", f"/api/v1/runs/{world['runs'][0]}/resources",
                 f"/api/v1/experiments/{world['e1']}/cost", f"/api/v1/projects/{world['p1']}/cost",
                 "/api/v1/teams/ml-team/cost", "/api/v1/teams/ml-team/rates"):
        assert error(mallory.get(path), 404)["code"] == "not_found", path
    assert error(put(mallory, "/api/v1/teams/ml-team/rates", {"gpu_per_hour": 0}), 404)["code"] == "not_found"
    assert error(mallory.post(f"/api/v1/runs/{world['runs'][0]}/resources", json={"cpu_hours": 1}), 404)
    # the same answers for things that do not exist at all
    missing = error(mallory.get("/api/v1/teams/no-such-team/cost"), 404)
    hidden = error(mallory.get("/api/v1/teams/ml-team/cost"), 404)
    assert missing["field"] == hidden["field"] == "team"
    assert error(mallory.get("/api/v1/runs/nope/cost"), 404)["field"] == \
        error(mallory.get(f"/api/v1/runs/{world['runs'][0]}/cost"), 404)["field"]
    assert error(world["alice"].get(f"/api/v1/runs/{world['runs'][4]}/cost"), 404)  # deleted


def test_viewers_read_but_cannot_log(world: dict) -> None:
    victor, run_id = world["victor"], world["runs"][0]
    assert error(victor.post(f"/api/v1/runs/{run_id}/resources", json={"cpu_hours": 1}), 403)["code"] == "forbidden"
    assert ok(victor.get(f"/api/v1/runs/{run_id}/resources"))["sources"]["cpu_hours"] == "declared"


def test_locked_runs_refuse_new_figures(world: dict) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    ok(alice.patch(f"/api/v1/runs/{run_id}", json={"locked": True}))
    assert error(alice.post(f"/api/v1/runs/{run_id}/resources", json={"cpu_hours": 1}), 409)["code"] == "run_locked"
    assert ok(alice.get(f"/api/v1/runs/{run_id}/cost"))["cost"]["total"] == approx(5.96)


# ---------------------------------------------------------------- bad input: 4xx envelopes, never a 500


BAD_RESOURCES = [
    ({}, None),
    ({"cpu_hours": -1}, "cpu_hours"),
    ({"cpu_hours": "10"}, "cpu_hours"),
    ({"cpu_hours": True}, "cpu_hours"),
    ({"gpu_hours": 1e10}, "gpu_hours"),
    ({"peak_memory_gb": [1]}, "peak_memory_gb"),
    ({"memory": 1}, "memory"),
    ([1, 2], None),
    ("cpu", None),
    (None, None),
]
BAD_RATES = [
    ({}, None),
    ({"gpu_per_hour": None}, "gpu_per_hour"),
    ({"cpu_per_hour": -0.01}, "cpu_per_hour"),
    ({"cpu_per_hour": 1e300}, "cpu_per_hour"),
    ({"memory_per_gb_hour": "0.1"}, "memory_per_gb_hour"),
    ({"currency": "EUR"}, "currency"),
    ([], None),
]


def test_bad_bodies_are_400_naming_the_field(world: dict) -> None:
    alice = world["alice"]
    for body, field in BAD_RESOURCES:
        answer = error(alice.post(f"/api/v1/runs/{world['runs'][0]}/resources", json=body), 400)
        assert field is None or answer.get("field") == field, (body, answer)
    for body, field in BAD_RATES:
        answer = error(put(alice, "/api/v1/teams/ml-team/rates", body), 400)
        assert field is None or answer.get("field") == field, (body, answer)
    assert ok(alice.get(f"/api/v1/runs/{world['runs'][0]}/cost"))["cost"]["total"] == approx(5.96)  # unchanged
    assert ok(alice.get("/api/v1/teams/ml-team/rates"))["custom"] is False


def test_odd_paths_and_bodies_never_500(world: dict) -> None:
    alice = world["alice"]
    assert alice.get("/api/v1/teams/" + "x" * 300 + "/cost").status_code in (400, 404)
    assert error(alice.get("/api/v1/teams/%00/cost"), 400)
    assert error(alice.get("/api/v1/runs/" + "r" * 500 + "/cost"), 404)
    assert error(alice.get("/api/v1/experiments/%E2%9C%93/cost"), 404)
    assert error(alice.post(f"/api/v1/runs/{world['runs'][0]}/resources", data="{not json",
                            headers={"Content-Type": "application/json"}), 400)
    assert error(put(alice, "/api/v1/teams/ml-team/rates", None, data="cpu_per_hour=1",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}), 400)
    wrong_method = alice.post(f"/api/v1/runs/{world['runs'][0]}/cost")
    assert wrong_method.status_code in (404, 405) and wrong_method.get_json()["error"]["code"]


def test_service_validation_without_the_api(world: dict, core: Any) -> None:
    """The service checks what the API's models check, for callers that skip them (dashboard, scripts)."""
    from services import accounts, resources
    from services.errors import Invalid

    actor = accounts.authenticate(core, "alice", "correct-horse-battery")
    for changes in ({"cpu_hours": float("nan")}, {"cpu_hours": float("inf")}, {"x": 1}, {}):
        with pytest.raises(Invalid):
            resources.log_resources(core, actor, world["runs"][0], changes)
    with pytest.raises(Invalid):
        resources.set_rates(core, actor, "ml-team", {"gpu_per_hour": None})
