"""Trends aggregations on SQLite and Postgres: best per experiment, outcomes per day or week, durations, runs of an
experiment, costliest runs; deleted runs are left out and another team's project is not found."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from services import accounts, experiments, metrics, projects, resources, runs, trends
from services.context import Actor, Core
from services.errors import Invalid, NotFound
from services.metrics import Point

T0 = 1_700_000_000_000
HOUR = 3_600_000
DAY = 24 * HOUR
PASSWORD = "correct-horse-battery"


@dataclass
class Data:
    alice: Actor
    bob: Actor
    project_id: str
    first_id: str
    second_id: str
    run_ids: dict[str, str]


def _run(core: Core, who: Actor, exp_id: str, name: str, start: int, hours: float | None, status: str,
         values: dict[str, list[float]]) -> str:
    run = runs.create_run(core, who, exp_id, name, start_time=start)
    points = [Point(k, v, s, start + s) for k, vs in values.items() for s, v in enumerate(vs)]
    if points:
        metrics.log_points(core, who, run["id"], points)
    if status != "RUNNING":
        end = start + int(hours * HOUR) if hours is not None else None
        runs.update_run(core, who, run["id"], status=status, end_time=end)
    return run["id"]


def make_data(core: Core) -> Data:
    for name, team in (("alice", "ml-team"), ("bob", "other-team")):
        accounts.create_user(core, None, name, PASSWORD)
        accounts.create_team(core, None, team)
        accounts.set_membership(core, None, team, name, "editor")
    alice, bob = (accounts.authenticate(core, n, PASSWORD) for n in ("alice", "bob"))
    project = projects.create_project(core, alice, "vision", "", "ml-team")
    first = experiments.create_experiment(core, alice, project["id"], "a-first")
    second = experiments.create_experiment(core, alice, project["id"], "b-second")
    ids = {
        "r1": _run(core, alice, first["id"], "r1", T0, 1.0, "FINISHED", {"accuracy": [0.5, 0.7, 0.6],
                                                                          "loss": [0.9, 0.4]}),
        "r2": _run(core, alice, first["id"], "r2", T0 + HOUR, 0.5, "FAILED", {"accuracy": [0.65],
                                                                               "loss": [0.3, 0.5]}),
        "r3": _run(core, alice, second["id"], "r3", T0 + 2 * DAY, 2.0, "FINISHED", {"accuracy": [0.8, 0.75]}),
        "r4": _run(core, alice, second["id"], "r4", T0 + 2 * DAY + HOUR, 0.25, "KILLED", {"loss": [0.1]}),
        "r5": _run(core, alice, second["id"], "r5", T0 + 3 * DAY, None, "RUNNING", {"accuracy": [0.1]}),
        "gone": _run(core, alice, second["id"], "gone", T0 + 3 * DAY, 5.0, "FINISHED", {"accuracy": [0.99]}),
    }
    runs.delete_run(core, alice, ids["gone"])
    return Data(alice, bob, project["id"], first["id"], second["id"], ids)


@pytest.fixture
def data(core: Core) -> Data:
    return make_data(core)


def test_best_per_experiment_max_and_min(core: Core, data: Data) -> None:
    best = trends.best_per_experiment(core, data.alice, data.project_id, "accuracy")
    assert best["mode"] == "max"  # the default for a metric that is not a loss
    assert [(p["name"], p["best"], p["runs"]) for p in best["points"]] == \
        [("a-first", 0.7, 2), ("b-second", 0.8, 2)]  # the deleted run's 0.99 is left out
    loss = trends.best_per_experiment(core, data.alice, data.project_id, "loss")
    assert loss["mode"] == "min" and [(p["name"], p["best"]) for p in loss["points"]] == \
        [("a-first", 0.3), ("b-second", 0.1)]
    low = trends.best_per_experiment(core, data.alice, data.project_id, "accuracy", "min")
    assert [p["best"] for p in low["points"]] == [0.5, 0.1]
    assert trends.best_per_experiment(core, data.alice, data.project_id, "nothing")["points"] == []
    with pytest.raises(Invalid):
        trends.best_per_experiment(core, data.alice, data.project_id, "accuracy", "sideways")


def test_outcomes_per_day_and_success_rate(core: Core, data: Data) -> None:
    answer = trends.outcomes(core, data.alice, data.project_id)
    assert answer["unit"] == "day"
    days = {b["start"][:10]: b for b in answer["buckets"]}
    assert len(days) == 2  # the running run and the deleted run do not count
    first, second = (days[k] for k in sorted(days))
    assert (first["FINISHED"], first["FAILED"], first["KILLED"]) == (1, 1, 0) and first["success_rate"] == 0.5
    assert (second["FINISHED"], second["FAILED"], second["KILLED"]) == (1, 0, 1)


def test_outcomes_by_week_over_a_long_span(core: Core, data: Data) -> None:
    _run(core, data.alice, data.first_id, "late", T0 + 200 * DAY, 1.0, "FAILED", {})
    answer = trends.outcomes(core, data.alice, data.project_id)
    assert answer["unit"] == "week" and sum(b["FAILED"] for b in answer["buckets"]) == 2


def test_durations_of_ended_runs(core: Core, data: Data) -> None:
    answer = trends.durations(core, data.alice, data.project_id)
    assert [(d["experiment"], d["name"], d["seconds"]) for d in answer] == \
        [("a-first", "r1", 3600.0), ("a-first", "r2", 1800.0), ("b-second", "r3", 7200.0), ("b-second", "r4", 900.0)]


def test_experiment_runs_last_and_best(core: Core, data: Data) -> None:
    last = trends.experiment_runs(core, data.alice, data.first_id, "accuracy")
    assert [(r["name"], r["status"], r["value"], r["seconds"]) for r in last["runs"]] == \
        [("r1", "FINISHED", 0.6, 3600.0), ("r2", "FAILED", 0.65, 1800.0)]
    best = trends.experiment_runs(core, data.alice, data.second_id, "accuracy", "best")
    assert [(r["name"], r["value"]) for r in best["runs"]] == [("r3", 0.8), ("r4", None), ("r5", 0.1)]
    assert trends.experiment_metric_keys(core, data.alice, data.first_id) == ["accuracy", "loss"]
    with pytest.raises(Invalid):
        trends.experiment_runs(core, data.alice, data.first_id, "accuracy", "median")


def test_costliest_runs_use_logged_resources(core: Core, data: Data) -> None:
    resources.log_resources(core, data.alice, data.run_ids["r1"], {"cpu_hours": 10.0, "gpu_hours": 2.0})
    resources.log_resources(core, data.alice, data.run_ids["r2"], {"cpu_hours": 1.0})
    top = trends.costliest_runs(core, data.alice, data.first_id)
    assert [(r["name"], r["cost"]) for r in top] == [("r1", pytest.approx(10 * 0.05 + 2 * 2.5)),
                                                     ("r2", pytest.approx(0.05))]
    assert trends.costliest_runs(core, data.alice, data.second_id) == []


@pytest.mark.parametrize("call", [
    lambda core, who, d: trends.best_per_experiment(core, who, d.project_id, "accuracy"),
    lambda core, who, d: trends.outcomes(core, who, d.project_id),
    lambda core, who, d: trends.durations(core, who, d.project_id),
    lambda core, who, d: trends.project_metric_keys(core, who, d.project_id),
    lambda core, who, d: trends.experiment_runs(core, who, d.first_id, "accuracy"),
    lambda core, who, d: trends.costliest_runs(core, who, d.first_id),
])
def test_another_team_gets_not_found(core: Core, data: Data, call: Any) -> None:
    with pytest.raises(NotFound):
        call(core, data.bob, data)
