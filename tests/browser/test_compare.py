"""Comparing runs and viewing a stored experiment comparison in the shared headless Chromium."""
from __future__ import annotations

from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

from services import comparison, experiments, metrics, runs
from services.metrics import Point
from tests.browser.conftest import full_shot, login
from tests.browser.seed import Seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module", autouse=True)
def _signed_out_after(duo: DashComposite) -> Iterator[None]:
    """Leave the shared browser as found: signed out (other modules start from the sign-in page)."""
    yield
    duo.driver.get(f"{duo.server.url}/logout")


def _wait(duo: DashComposite, script: str, message: str, timeout: float = 10) -> None:
    WebDriverWait(duo.driver, timeout).until(lambda d: d.execute_script(script), message)


def _check_row(duo: DashComposite, run_id: str) -> None:
    selector = f"#run-grid .ag-pinned-left-cols-container .ag-row[row-id='{run_id}'] input[type='checkbox']"
    duo.driver.execute_script("arguments[0].click()", duo.wait_for_element(selector))


def test_select_runs_then_compare_shows_differing_params_and_curves(duo: DashComposite, seed: Seed) -> None:
    first, second = seed.run_ids[29], seed.run_ids[27]  # both SVM: only alpha differs
    login(duo, "alice", next_path=f"/experiments/{seed.experiment_id}")
    duo.wait_for_contains_text("#run-count", "runs")
    assert duo.find_element("#run-compare").get_attribute("disabled") or \
        "disabled" in duo.find_element("#run-compare").get_attribute("class")
    _check_row(duo, first)
    _check_row(duo, second)
    duo.wait_for_text_to_equal("#run-selection", "2 selected")
    _wait(duo, "return document.querySelector('#run-compare').getAttribute('href').includes(',')",
          "the Compare button never linked the selection")
    duo.find_element("#run-compare").click()
    duo.wait_for_contains_text("#compare-content h1", "Compare 2 runs")
    assert parse_qs(urlsplit(duo.driver.current_url).query)["runs"] == [f"{first},{second}"]
    duo.wait_for_contains_text("#compare-params", "1 of 2 parameters differ")
    header = duo.find_element("#compare-params thead").text
    assert "alpha" in header and "algorithm" not in header
    duo.wait_for_element("#compare-metrics .baseline-row")
    assert "run-029" in duo.find_element("#compare-metrics .baseline-row").text
    duo.wait_for_contains_text("#compare-curves-note", "2 runs with accuracy")
    _wait(duo, "return document.querySelectorAll('#compare-curves .scatterlayer .trace').length === 2",
          "two overlaid curves never appeared")
    duo.wait_for_element("#compare-importance .main-svg")
    full_shot(duo, "20-compare")
    duo.find_element("#compare-diff-only").click()  # all params now, and the URL says so
    duo.wait_for_contains_text("#compare-params thead", "algorithm")
    WebDriverWait(duo.driver, 10).until(lambda d: "diff=0" in d.current_url, "diff=0 never reached the URL")
    assert duo.get_logs() == []


def test_brushing_the_parcoords_narrows_the_tables(duo: DashComposite, seed: Seed) -> None:
    chosen = seed.run_ids[:6]  # algorithm (NB/SVM) is axis 0, alpha 0.1 … 0.6 axis 1
    login(duo, "alice", next_path=f"/compare?runs={','.join(chosen)}&metrics=loss")
    duo.wait_for_contains_text("#compare-content h1", "Compare 6 runs")
    duo.wait_for_element("#compare-parcoords .parcoords")
    duo.wait_for_contains_text("#compare-metrics", "run-005")
    assert duo.find_element("#compare-selection").text == ""
    duo.driver.execute_script("Plotly.restyle(document.querySelector('#compare-parcoords .js-plotly-plot'),"
                              " {'dimensions[1].constraintrange': [[0.15, 0.35]]})")
    duo.wait_for_contains_text("#compare-selection", "Brushed: 2 of 6 runs shown")
    _wait(duo, "return document.querySelectorAll('#compare-metrics tbody tr').length === 2",
          "the metric table never narrowed to the two brushed runs")
    table = duo.find_element("#compare-metrics").text
    assert "run-001" in table and "run-002" in table and "run-005" not in table
    assert "run-000" not in duo.find_element("#compare-params").text
    full_shot(duo, "21-compare-brushed")
    WebDriverWait(duo.driver, 10).until(lambda d: "brush=alpha~0.15_0.35" in d.current_url,
                                        "the brush never reached the URL")
    duo.driver.get(duo.driver.current_url)  # the shared link: same narrowed tables, the range drawn on the axis
    duo.wait_for_contains_text("#compare-selection", "Brushed: 2 of 6 runs shown")
    duo.wait_for_contains_text("#compare-metrics", "run-002")
    assert "run-005" not in duo.find_element("#compare-metrics").text
    _wait(duo, "const gd = document.querySelector('#compare-parcoords .js-plotly-plot');"
               "return gd && gd.data && JSON.stringify(gd.data[0].dimensions[1].constraintrange) === '[0.15,0.35]'",
          "the restored brush is not drawn on the alpha axis")
    assert duo.get_logs() == []
    duo.driver.execute_script("Plotly.restyle(document.querySelector('#compare-parcoords .js-plotly-plot'),"
                              " {'dimensions[1].constraintrange': null})")
    duo.wait_for_text_to_equal("#compare-selection", "")
    duo.wait_for_contains_text("#compare-metrics", "run-005")
    WebDriverWait(duo.driver, 10).until(lambda d: "brush=" not in d.current_url, "a cleared brush stayed in the URL")
    assert duo.get_logs() == []


def test_group_by_a_param_shows_group_means_with_a_band(duo: DashComposite, seed: Seed) -> None:
    login(duo, "alice", next_path=f"/compare?runs={','.join(seed.run_ids[:10])}")
    duo.wait_for_contains_text("#compare-content h1", "Compare 10 runs")
    duo.wait_for_contains_text("#compare-metrics", "run-009")
    duo.select_dcc_dropdown("#compare-group", "param: algorithm")
    duo.wait_for_contains_text("#compare-metrics", "algorithm = SVM")
    rows = duo.driver.find_elements("css selector", "#compare-metrics tbody tr")
    assert len(rows) == 2 and "algorithm = NB" in rows[0].text and "± " in rows[0].text and "(5)" in rows[0].text
    duo.wait_for_contains_text("#compare-curves-note", "2 groups by param algorithm over 10 runs")
    _wait(duo, "const gd = document.querySelector('#compare-curves .js-plotly-plot'); return gd && gd.data"
               " && gd.data.filter(t => t.fill === 'toself').length === 2"
               " && gd.data.filter(t => t.fill !== 'toself').length === 2",
          "two group mean lines, each with a CI band, never appeared")
    assert duo.find_element("#compare-curves .legend").text.count("algorithm =") == 2
    WebDriverWait(duo.driver, 10).until(lambda d: "group=param:algorithm" in d.current_url,
                                        "the group never reached the URL")
    full_shot(duo, "23-compare-grouped")
    assert duo.get_logs() == []
    duo.driver.get(duo.driver.current_url)  # the link keeps the grouping
    duo.wait_for_contains_text("#compare-metrics", "algorithm = NB")
    assert duo.get_logs() == []


@pytest.fixture(scope="module")
def gated_runs(seed: Seed) -> tuple[str, str]:
    """A gated experiment (accuracy >= 0.95) with a failing and a passing run."""
    exp = experiments.create_experiment(seed.core, seed.alice, seed.other_project_id, "compare-gated",
                                        validation_criteria={"accuracy": ">= 0.95"})
    made = []
    for name, value in (("gated-fail", 0.90), ("gated-pass", 0.97)):
        run = runs.create_run(seed.core, seed.alice, exp["id"], name, {"alpha": 0.5})
        metrics.log_points(seed.core, seed.alice, run["id"], [Point("accuracy", value, 0, 1_700_000_000_000)])
        made.append(run["id"])
    return made[0], made[1]


def test_a_run_failing_its_gate_is_marked(duo: DashComposite, seed: Seed, gated_runs: tuple[str, str]) -> None:
    failing, passing = gated_runs
    login(duo, "alice", next_path=f"/compare?runs={failing},{passing},{seed.run_ids[0]}&diff=0")
    duo.wait_for_contains_text("#compare-run-gates", "1 of 3 runs failed")
    for table in ("#compare-params", "#compare-metrics"):
        duo.wait_for_element(f"{table} tr.gate-failed-row")
        marked = duo.driver.find_elements("css selector", f"{table} tr.gate-failed-row")
        assert len(marked) == 1 and "gated-fail" in marked[0].text and "Gate failed" in marked[0].text
        assert "Gate passed" in duo.find_element(table).text
    badge = duo.find_element("#compare-run-gates .gate-failed")
    assert badge.text == "Gate failed" and "220, 53, 69" in badge.value_of_css_property("background-color")  # red
    full_shot(duo, "24-compare-gates")
    assert duo.get_logs() == []


def test_empty_and_hidden_comparisons(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/compare")
    duo.wait_for_contains_text("#compare-empty", "select runs in an experiment's run table and press Compare")
    duo.driver.get(f"{duo.server.url}/visualizations/no-such-comparison")
    duo.wait_for_contains_text("#not-found", "does not exist, or you do not have access")
    assert duo.get_logs() == []


def _stored_comparison(seed: Seed) -> str:
    other = experiments.create_experiment(seed.core, seed.alice, seed.project_id, "augmented-v2",
                                          hypothesis="Augmentation adds accuracy")
    for i, value in enumerate((0.95, 0.97, 0.96, 0.98, 0.955)):
        run = runs.create_run(seed.core, seed.alice, other["id"], f"aug-{i}", {"alpha": 0.5})
        metrics.log_points(seed.core, seed.alice, run["id"], [Point("accuracy", value, 0, 1_700_000_000_000),
                                                              Point("loss", 0.1 + i / 100, 0, 1_700_000_000_000)])
    stored = comparison.compare(seed.core, seed.alice, [seed.experiment_id, other["id"]], ["accuracy", "loss"])
    return stored["comparison_id"]


def test_visualization_page_renders_p_values_and_run_values(duo: DashComposite, seed: Seed) -> None:
    comparison_id = _stored_comparison(seed)
    login(duo, "alice", next_path=f"/visualizations/{comparison_id}")
    duo.wait_for_contains_text("#viz-best", "augmented-v2")
    duo.wait_for_contains_text("#viz-content", "adjusted p")
    cells = [c.text for c in duo.driver.find_elements("css selector", "#viz-content td.p-value")]
    assert len(cells) == 2 and all(c and c != "—" for c in cells)
    _wait(duo, "return document.querySelectorAll('#viz-content .boxlayer .trace').length === 4",
          "box plots never appeared (two metrics × two experiments)")
    full_shot(duo, "22-visualization")
    assert duo.get_logs() == []
    login(duo, "bob", next_path=f"/visualizations/{comparison_id}")
    duo.wait_for_contains_text("#not-found", "does not exist, or you do not have access")
    assert "augmented" not in duo.find_element("#_pages_content").text
    assert duo.get_logs() == []
