"""Safety gates on the dashboard: the run Safety panel, the run table's Gate column, the experiment summary card."""
from __future__ import annotations

from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from callbacks import experiment, project, safety
from components import ids
from components.safety import confusion_matrix, gate_badge, light_badge
from services import accounts, experiments, metrics, runs
from tests.browser.seed import PASSWORD, Gated, Seed, seed_dashboard, seed_gated
from tests.unit.dash_tree import find, signed_in, text


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=3)


@pytest.fixture
def gated(core: Any, seed: Seed) -> Gated:
    return seed_gated(core, seed.alice, seed.project_id)


def test_badges_colour_by_verdict_and_light() -> None:
    assert gate_badge("failed").color == "danger" and gate_badge("failed").children == "Gate failed"
    assert gate_badge("passed").color == "success" and gate_badge("incomplete").color == "warning"
    assert [light_badge(c).color for c in ("green", "amber", "red", "grey")] == \
        ["success", "warning", "danger", "secondary"]


def test_confusion_matrix_heatmap_table() -> None:
    table = confusion_matrix({"labels": ["negative", "positive"], "matrix": [[144, 6], [10, 40]]})
    assert "144" in text(table) and "positive" in text(table)
    assert confusion_matrix(None) is None


def test_failing_run_panel_is_red_with_each_criterion(backend: Any, seed: Seed, gated: Gated) -> None:
    with signed_in(backend, seed.alice):
        panel = safety.run_panel(0, gated.failing_run_id)
    badge = find(panel, ids.SAFETY_GATE_BADGE)
    assert badge.children == "Gate failed" and badge.color == "danger"
    words = text(panel)
    assert "accuracy >= 0.95" in words and "crisis_detection_rate >= 0.99" in words and "✗ " in words
    assert "false_crisis_rate" in words and "<= 0.05" in words and "red" in words  # crisis detection 0.80: red
    assert find(panel, ids.SAFETY_MATRIX) is not None and "144" in text(find(panel, ids.SAFETY_MATRIX))


def test_passing_and_incomplete_runs(backend: Any, seed: Seed, gated: Gated) -> None:
    with signed_in(backend, seed.alice):
        passing = find(safety.run_panel(0, gated.passing_run_id), ids.SAFETY_GATE_BADGE)
        partial = find(safety.run_panel(0, gated.incomplete_run_id), ids.SAFETY_GATE_BADGE)
        ungated_panel = safety.run_panel(0, seed.run_ids[0])
        ungated = find(ungated_panel, ids.SAFETY_GATE_BADGE)
    assert passing.children == "Gate passed" and partial.children == "Gate incomplete"
    assert ungated.children == "No gate criteria" and "no safety metrics logged" in text(ungated_panel)
    with signed_in(backend, seed.alice), pytest.raises(PreventUpdate):
        safety.run_panel(0, "no-such-run")


def test_run_table_gate_column(backend: Any, seed: Seed, gated: Gated) -> None:
    with signed_in(backend, seed.alice):
        page, _ = experiment.get_rows({"startRow": 0, "endRow": 100}, gated.experiment_id)
        plain, _ = experiment.get_rows({"startRow": 0, "endRow": 100}, seed.experiment_id)
    assert {r["name"]: r["gate"] for r in page["rowData"]} == \
        {"gate-fail": "failed", "gate-pass": "passed", "gate-partial": "incomplete"}
    assert {r["gate"] for r in plain["rowData"]} == {"no_criteria"}


def test_experiment_summary_counts_hypothesis_distribution(backend: Any, seed: Seed, gated: Gated) -> None:
    with signed_in(backend, seed.alice):
        card = safety.experiment_card(0, gated.experiment_id)
    words = text(card)
    assert "Gate failed" in words and "Gate passed" in words and "Gate incomplete" in words
    # accuracy >= 0.95 read from the hypothesis text: the best run passes, but the 95% CI of the mean is wide
    assert "inconclusive" in words and "95% CI" in words
    assert "crisis_detection_rate" in words and "0.8 0.8975 0.995" in words  # min/median/max


def test_experiment_summary_follows_a_new_run_and_refuses_outsiders(backend: Any, core: Any, seed: Seed,
                                                                      gated: Gated) -> None:
    """The card is computed once per experiment version: a new failing run shows on the next read, and a user
    outside the team never gets the cached card."""
    with signed_in(backend, seed.alice):
        before = text(safety.experiment_card(0, gated.experiment_id))
        run = runs.create_run(core, seed.alice, gated.experiment_id, "late-fail")
        metrics.log_points(core, seed.alice, run["id"], [metrics.Point("accuracy", 0.5, 0, 1),
                                                        metrics.Point("crisis_detection_rate", 0.5, 0, 1)])
        after = text(safety.experiment_card(0, gated.experiment_id))
    assert "Gate failed  1" in before and "crisis_detection_rate 0.8 0.8975 0.995" in before
    assert "Gate failed  2" in after and "crisis_detection_rate 0.5 0.8 0.995" in after
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob), pytest.raises(PreventUpdate):
        safety.experiment_card(0, gated.experiment_id)


def test_new_experiment_from_a_template(backend: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        picker = find(project.load_project(seed.project_id), ids.NEW_EXPERIMENT_TEMPLATE)
        labels = [o["label"] for o in picker.options]
        assert labels[0] == "Blank experiment" and "Healthcare Classification Experiment · healthcare" in labels
        _, is_open, href = project.create_experiment(1, seed.project_id, "triage-v1", "", "", "nlp",
                                                     "healthcare-classification")
        created = experiments.get_experiment(seed.core, seed.alice, href.rsplit("/", 1)[1])
        card = safety.experiment_card(0, created["id"])
        error, _, _ = project.create_experiment(1, seed.project_id, "triage-v2", "", "", "", "no-such-template")
    assert is_open is False and created["template_id"] == "healthcare-classification"
    assert created["validation_criteria"]["accuracy"] == ">= 0.95" and created["domain"] == "healthcare"
    assert "No healthcare or safety metrics logged" in text(card) and "not found" in text(error)


def test_gate_column_only_for_experiments_with_criteria(backend: Any, seed: Seed, gated: Gated) -> None:
    with signed_in(backend, seed.alice):
        with_gate = find(experiment.load_experiment(gated.experiment_id, {}), ids.RUN_GRID).columnDefs
        without = find(experiment.load_experiment(seed.experiment_id, {}), ids.RUN_GRID).columnDefs
    assert [c.get("field") for c in with_gate][:4] == ["name", "status", "gate", "user"]
    assert "gate" not in [c.get("field") for c in without]
