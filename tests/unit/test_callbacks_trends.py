"""Trends pages, the run cost card and team rates as plain callbacks on a real core: what the user would see."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from callbacks import cost, teams, trends
from components import ids
from components.trends import running_best
from services import accounts, experiments, metrics, resources, runs
from services.metrics import Point
from tests.browser.seed import PASSWORD, Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, text


@dataclass
class Extra:
    seed: Seed
    second_run_id: str  # the only run of bert-finetune, accuracy 0.97


@pytest.fixture
def extra(core: Any) -> Extra:
    seed = seed_dashboard(core, run_count=6)
    run = runs.create_run(core, seed.alice, seed.empty_experiment_id, "bert-1", start_time=1_700_000_500_000)
    metrics.log_points(core, seed.alice, run["id"], [Point("accuracy", 0.97, 0, 1_700_000_500_000)])
    runs.update_run(core, seed.alice, seed.run_ids[0], end_time=1_700_000_000_000 + 2 * 3_600_000)  # ran 2 h
    resources.log_resources(core, seed.alice, seed.run_ids[0], {"cpu_hours": 4.0, "gpu_hours": 2.0,
                                                                "peak_memory_gb": 5.0})
    return Extra(seed, run["id"])


def test_project_page_controls_outcomes_and_cost(backend: Any, extra: Extra) -> None:
    with signed_in(backend, extra.seed.alice):
        page = trends.load_project(extra.seed.project_id, {})
    assert find(page, ids.TRENDS_METRIC).value == "accuracy" and find(page, ids.TRENDS_MODE).value == "max"
    assert find(page, ids.TRENDS_METRIC).options == ["accuracy", "loss"]
    outcomes = find(page, ids.TRENDS_OUTCOMES_GRAPH).figure
    assert sum(sum(t.y) for t in outcomes.data if t.type == "bar") == 2  # runs 0 and 3: finished and failed
    usage = text(find(page, ids.TRENDS_USAGE))
    assert "$5.25" in usage  # 4 CPU h × 0.05 + 2 GPU h × 2.50 + 5 GB × 2 h × 0.005
    assert "baseline-model-v1" in usage and "5 GB" in usage


def test_empty_project_and_experiment_say_what_to_log(backend: Any, extra: Extra) -> None:
    with signed_in(backend, extra.seed.alice):
        page = trends.load_project(extra.seed.other_project_id, {})
        best = trends.project_best(find(page, ids.TRENDS_METRIC).value, "max", extra.seed.other_project_id)
    words = text(page)
    assert "set a run's status" in words and "runs get a duration" in words and "/resources" in words
    assert "No metrics logged in this project" in text(best)


def test_project_page_reads_metric_and_mode_from_the_link(backend: Any, extra: Extra) -> None:
    with signed_in(backend, extra.seed.alice):
        page = trends.load_project(extra.seed.project_id, {"metric": "loss", "mode": "max"})
        unknown = trends.load_project(extra.seed.project_id, {"metric": "nope", "mode": "sideways"})
    assert (find(page, ids.TRENDS_METRIC).value, find(page, ids.TRENDS_MODE).value) == ("loss", "max")
    assert (find(unknown, ids.TRENDS_METRIC).value, find(unknown, ids.TRENDS_MODE).value) == ("accuracy", "max")
    assert trends.project_url("loss", "min") == "?metric=loss&mode=min"
    assert trends.experiment_url("system/cpu_percent", "best", "max") == \
        "?metric=system/cpu_percent&value=best&mode=max"


def test_best_chart_has_one_point_per_experiment(backend: Any, extra: Extra) -> None:
    with signed_in(backend, extra.seed.alice):
        chart = trends.project_best("accuracy", "max", extra.seed.project_id)
        lowest = trends.project_best("loss", "min", extra.seed.project_id)
        missing = trends.project_best("f1", "max", extra.seed.project_id)
    trace = chart.figure.data[0]
    assert list(trace.text) == ["baseline-model-v1", "bert-finetune"]
    assert list(trace.y) == [pytest.approx(0.8 + 0.005 * 5 + 0.004), 0.97]
    assert list(trace.customdata) == [extra.seed.experiment_id, extra.seed.empty_experiment_id]
    assert list(lowest.figure.data[0].y) == [pytest.approx(1 / 6)]  # only the baseline logs loss
    assert "logged f1" in text(missing) and "/metrics" in text(missing)
    assert trends.open_experiment({"points": [{"customdata": "e1"}]}) == "/experiments/e1"
    with pytest.raises(PreventUpdate):
        trends.open_run({"points": [{"x": 1}]})


def test_other_team_sees_not_found(backend: Any, extra: Extra) -> None:
    bob = accounts.authenticate(extra.seed.core, "bob", PASSWORD)
    with signed_in(backend, bob):
        assert find(trends.load_project(extra.seed.project_id, {}), "not-found") is not None
        assert find(trends.load_experiment(extra.seed.experiment_id, {}), "not-found") is not None
        with pytest.raises(PreventUpdate):
            trends.project_best("accuracy", "max", extra.seed.project_id)


def test_experiment_runs_scatter_by_status_with_running_best(backend: Any, extra: Extra) -> None:
    with signed_in(backend, extra.seed.alice):
        page = trends.load_experiment(extra.seed.experiment_id, {"value": "best"})
        chart = trends.experiment_runs("loss", "last", "min", extra.seed.experiment_id)
        empty = trends.experiment_runs(None, "last", "max", extra.seed.empty_experiment_id)
    assert find(page, ids.EXP_TRENDS_SUMMARY).value == "best" and find(page, ids.EXP_TRENDS_METRIC).value == "accuracy"
    assert "Most expensive runs" in text(page) and "run-000" in text(page)
    by_name = {t.name: t for t in chart.figure.data}
    assert set(by_name) == {"finished", "failed", "running", "running best (min)"}
    assert list(by_name["finished"].text) == ["run-000"] and list(by_name["failed"].text) == ["run-003"]
    best_line = list(by_name["running best (min)"].y)
    assert best_line[0] == pytest.approx(1.04) and best_line[-1] == pytest.approx(1 / 6 + 0.04)
    assert "No metrics logged" in text(empty)
    assert running_best([{"value": None}, {"value": 2.0}, {"value": 3.0}, {"value": 1.0}], "max") == \
        [None, 2.0, 3.0, 3.0]


def test_run_cost_card_shows_cost_or_hides(backend: Any, extra: Extra) -> None:
    with signed_in(backend, extra.seed.alice):
        card = cost.run_card(0, extra.seed.run_ids[0])
        hidden = cost.run_card(0, extra.seed.run_ids[1])
        with pytest.raises(PreventUpdate):
            cost.run_card(0, "no-such-run")
    words = text(card)
    assert find(card, "run-cost-total").children == "$5.25"
    assert "CPU hours" in words and "4" in words and "5 GB" in words and "logged" in words
    assert hidden is None  # a RUNNING run with no figures at all
    resources.log_resources(extra.seed.core, extra.seed.alice, extra.seed.run_ids[1], {"gpu_hours": 1.0})
    with signed_in(backend, extra.seed.alice):
        partial = cost.run_card(0, extra.seed.run_ids[1])
    assert "—" in text(partial) and find(partial, "run-cost-total").children == "$2.50"


def test_teams_page_totals_and_rates(backend: Any, extra: Extra) -> None:
    core = extra.seed.core
    accounts.set_membership(core, None, "ml-team", "alice", "admin")
    alice = accounts.authenticate(core, "alice", PASSWORD)
    with signed_in(backend, alice):
        listing, _ = teams.list_teams(0)
        assert "$5.25" in text(listing) and "Usage & cost" in text(listing)
        assert " ".join(text(listing).split()).count("By project: healthcare-ai $5.25") == 1
        message, refresh = cost.change_rates("ml-team", {"cpu_per_hour": "abc", "gpu_per_hour": "1",
                                                          "memory_per_gb_hour": "0"}, 3)
        assert "CPU $/hour must be a number" in text(message) and refresh is not None and refresh != 4
        message, _ = cost.change_rates("ml-team", {"cpu_per_hour": "-1", "gpu_per_hour": "1",
                                                   "memory_per_gb_hour": "0"}, 3)
        assert "from 0 up" in text(message)
        assert resources.get_rates(core, alice, "ml-team")["custom"] is False  # nothing written
        message, refresh = cost.change_rates("ml-team", {"cpu_per_hour": "0.1", "gpu_per_hour": "3",
                                                         "memory_per_gb_hour": "0"}, 3)
        assert "saved" in text(message) and refresh == 4
        listing, _ = teams.list_teams(refresh)
    assert "$6.40" in text(listing) and "the team's rates" in text(listing)  # 4 × 0.1 + 2 × 3
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob):
        message, _ = cost.change_rates("ml-team", {"cpu_per_hour": "1", "gpu_per_hour": "1",
                                                   "memory_per_gb_hour": "1"}, 0)
    assert "not found" in text(message)
    assert experiments.get_experiment(core, alice, extra.seed.experiment_id)  # still readable
