"""Safety gates in the browser: a run failing its experiment's gate is red on its page and in the run table."""
from __future__ import annotations

from typing import Iterator

import pytest
from dash.testing.composite import DashComposite

from tests.browser.conftest import full_shot, login
from tests.browser.seed import Gated, Seed, seed_gated

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def gated(duo: DashComposite, seed: Seed) -> Iterator[Gated]:
    """The gated experiment lives in the churn project (the dashboard tests count healthcare-ai's experiments);
    the shared browser is left signed out, as the other modules expect."""
    yield seed_gated(seed.core, seed.alice, seed.other_project_id)
    duo.driver.get(f"{duo.server.url}/logout")


def test_failing_run_shows_gate_failed_on_its_page_and_in_the_run_table(duo: DashComposite, gated: Gated) -> None:
    login(duo, "alice", next_path=f"/runs/{gated.failing_run_id}")
    duo.wait_for_text_to_equal("#safety-gate-badge", "Gate failed")
    badge = duo.find_element("#safety-gate-badge")
    assert "bg-danger" in badge.get_attribute("class")
    panel = duo.find_element(".safety-panel").text
    assert "crisis_detection_rate" in panel and ">= 0.99" in panel
    duo.wait_for_element("#safety-confusion-matrix")
    full_shot(duo, "safety-01-run-page")
    assert duo.get_logs() == []

    duo.driver.get(f"{duo.server.url}/experiments/{gated.experiment_id}")
    duo.wait_for_text_to_equal("#run-count", "3 runs")
    cell = f"#run-grid .ag-row[row-id='{gated.failing_run_id}'] [col-id='gate']"
    duo.wait_for_text_to_equal(cell, "failed")
    row = duo.find_element(f"#run-grid .ag-center-cols-container .ag-row[row-id='{gated.failing_run_id}']")
    assert "gate-failed-row" in row.get_attribute("class")
    duo.wait_for_text_to_equal(f"#run-grid .ag-row[row-id='{gated.passing_run_id}'] [col-id='gate']", "passed")
    duo.wait_for_contains_text("#exp-summary", "Gate failed")
    assert "inconclusive" in duo.find_element("#exp-summary").text
    full_shot(duo, "safety-02-run-table")
    assert duo.get_logs() == []
