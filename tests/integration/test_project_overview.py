"""Project overview (best run per experiment by a metric) and project share listing, on SQLite and Postgres."""
from __future__ import annotations

from typing import Any

import pytest

from services import accounts, metrics, project_overview, projects, runs
from services.errors import Forbidden, Invalid, NotFound
from services.metrics import Point
from tests.browser.seed import PASSWORD, Seed, seed_dashboard


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=6)


def _run(seed: Seed, experiment_id: str, name: str, values: dict[str, list[float]]) -> str:
    run = runs.create_run(seed.core, seed.alice, experiment_id, name, {})
    points = [Point(key, v, step, 1_700_000_000_000 + step) for key, series in values.items()
              for step, v in enumerate(series)]
    metrics.log_points(seed.core, seed.alice, run["id"], points)
    return run["id"]


def test_best_last_value_per_experiment_in_max_and_min_mode(seed: Seed) -> None:
    # seed runs: accuracy last = 0.804 + 0.005 i, loss last = 1/(i+1) + 0.04 for i in 0..5
    second = _run(seed, seed.empty_experiment_id, "bert-1", {"accuracy": [0.99, 0.70], "loss": [0.01, 0.5]})
    out = project_overview.best_by_experiment(seed.core, seed.alice, seed.project_id, "accuracy", "max")
    assert out["keys"] == ["accuracy", "loss"] and out["metric"] == "accuracy" and out["mode"] == "max"
    best = out["best"][seed.experiment_id]
    assert best["run_id"] == seed.run_ids[5] and best["run_name"] == "run-005"
    assert best["value"] == pytest.approx(0.829)
    assert out["best"][seed.empty_experiment_id] == {"run_id": second, "run_name": "bert-1",
                                                     "value": pytest.approx(0.70)}  # the last value, not the max
    low = project_overview.best_by_experiment(seed.core, seed.alice, seed.project_id, "accuracy", "min")
    assert low["best"][seed.experiment_id]["run_id"] == seed.run_ids[0]
    assert low["best"][seed.experiment_id]["value"] == pytest.approx(0.804)


def test_defaults_follow_the_metric_and_bad_url_values_fall_back(seed: Seed) -> None:
    loss = project_overview.best_by_experiment(seed.core, seed.alice, seed.project_id, "loss")
    assert loss["mode"] == "min"  # loss: lower is better
    assert loss["best"][seed.experiment_id]["run_id"] == seed.run_ids[5]
    assert loss["best"][seed.experiment_id]["value"] == pytest.approx(1 / 6 + 0.04)
    assert seed.empty_experiment_id not in loss["best"]  # no runs: no best
    stale = project_overview.best_by_experiment(seed.core, seed.alice, seed.project_id, "gone", "sideways")
    assert stale["metric"] == "accuracy" and stale["mode"] == "max"
    empty = project_overview.best_by_experiment(seed.core, seed.alice, seed.other_project_id, "accuracy")
    assert empty == {"keys": [], "metric": None, "mode": None, "best": {}}
    with pytest.raises(Invalid):
        project_overview.best_value(seed.core, seed.alice, seed.project_id, "accuracy", "sideways")


def test_deleted_runs_are_left_out(seed: Seed) -> None:
    runs.delete_run(seed.core, seed.alice, seed.run_ids[5])
    best = project_overview.best_value(seed.core, seed.alice, seed.project_id, "accuracy", "max")
    assert best[seed.experiment_id]["run_id"] == seed.run_ids[4]
    for run_id in seed.run_ids[:5]:
        runs.delete_run(seed.core, seed.alice, run_id)
    assert project_overview.best_value(seed.core, seed.alice, seed.project_id, "accuracy", "max") == {}
    assert project_overview.best_by_experiment(seed.core, seed.alice, seed.project_id)["keys"] == []


def test_another_teams_project_is_not_found(seed: Seed) -> None:
    bob = accounts.authenticate(seed.core, "bob", PASSWORD)
    with pytest.raises(NotFound):
        project_overview.best_by_experiment(seed.core, bob, seed.project_id, "accuracy")
    with pytest.raises(NotFound):
        project_overview.best_value(seed.core, bob, seed.project_id, "accuracy", "max")
    with pytest.raises(NotFound):
        projects.list_shares(seed.core, bob, seed.project_id)


def test_shares_are_listed_by_team_with_their_role(seed: Seed) -> None:
    accounts.set_membership(seed.core, None, "ml-team", "alice", "admin")
    alice = accounts.authenticate(seed.core, "alice", PASSWORD)
    assert projects.list_shares(seed.core, alice, seed.project_id) == []
    projects.share_project(seed.core, alice, seed.project_id, "other-team", "viewer")
    assert projects.list_shares(seed.core, alice, seed.project_id) == [{"team": "other-team", "role": "viewer"}]
    bob = accounts.authenticate(seed.core, "bob", PASSWORD)
    with pytest.raises(Forbidden):  # a viewer through the share cannot read the project's settings
        projects.list_shares(seed.core, bob, seed.project_id)
    projects.share_project(seed.core, alice, seed.project_id, "other-team", "editor")
    assert projects.list_shares(seed.core, bob, seed.project_id) == [{"team": "other-team", "role": "editor"}]
    projects.share_project(seed.core, alice, seed.project_id, "other-team", None)
    assert projects.list_shares(seed.core, alice, seed.project_id) == []
