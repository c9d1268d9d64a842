"""Project page in the shared headless Chromium: best metric column, settings and sharing, compare experiments."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

from services import accounts, experiments, metrics, projects, runs
from services.metrics import Point
from tests.browser.conftest import login, shot
from tests.browser.seed import PASSWORD, Seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
T0 = 1_700_200_000_000
# per experiment: (accuracy, loss) last values of its four runs
LOGGED = {"cnn-small": [(0.81, 0.52), (0.84, 0.47), (0.83, 0.49), (0.82, 0.50)],
          "cnn-large": [(0.90, 0.31), (0.92, 0.27), (0.91, 0.29), (0.93, 0.25)]}


@dataclass
class Imaging:
    project_id: str
    experiment_ids: dict[str, str]
    run_ids: dict[str, list[str]]


@pytest.fixture(scope="module")
def imaging(duo: DashComposite, seed: Seed) -> Iterator[Imaging]:
    """A project of alice's team with two experiments of four runs each; alice is team admin while this module
    runs (sharing needs it). Afterwards: share removed, alice editor again, browser signed out."""
    accounts.set_membership(seed.core, None, "ml-team", "alice", "admin")
    alice = accounts.authenticate(seed.core, "alice", PASSWORD)
    project = projects.create_project(seed.core, alice, "imaging-ai", "Chest X-ray models", "ml-team", ["vision"])
    exp_ids, run_ids = {}, {}
    for name, values in LOGGED.items():
        exp = experiments.create_experiment(seed.core, alice, project["id"], name, hypothesis=f"{name} is accurate")
        exp_ids[name], run_ids[name] = exp["id"], []
        for i, (acc, loss) in enumerate(values):
            run = runs.create_run(seed.core, alice, exp["id"], f"{name}-{i}", {"seed": i}, start_time=T0 + i)
            points = [Point("accuracy", 0.5, 0, T0), Point("accuracy", acc, 1, T0), Point("loss", 0.9, 0, T0),
                      Point("loss", loss, 1, T0)]
            metrics.log_points(seed.core, alice, run["id"], points)
            run_ids[name].append(run["id"])
    yield Imaging(project["id"], exp_ids, run_ids)
    projects.share_project(seed.core, alice, project["id"], "other-team", None)
    accounts.set_membership(seed.core, None, "ml-team", "alice", "editor")
    duo.driver.get(f"{duo.server.url}/logout")


def _wait(duo: DashComposite, script: str, message: str, *args: object) -> None:
    WebDriverWait(duo.driver, 10).until(lambda d: d.execute_script(script, *args), message)


def _cell(duo: DashComposite, experiment_id: str, column: str) -> str:
    selector = f"#project-experiments-grid .ag-row[row-id='{experiment_id}'] .ag-cell[col-id='{column}']"
    return duo.wait_for_element(selector).text


def _open(duo: DashComposite, imaging: Imaging, query: str = "") -> None:
    duo.driver.get(f"{duo.server.url}/projects/{imaging.project_id}{query}")
    duo.wait_for_contains_text("#project-content h1", "imaging-ai")
    duo.wait_for_element(f"#project-experiments-grid .ag-row[row-id='{imaging.experiment_ids['cnn-large']}']")


def test_choose_metric_and_the_best_column_shows_each_experiments_best_run(duo: DashComposite,
                                                                           imaging: Imaging) -> None:
    login(duo, "alice", next_path=f"/projects/{imaging.project_id}")
    _open(duo, imaging)
    small, large = imaging.experiment_ids["cnn-small"], imaging.experiment_ids["cnn-large"]
    assert duo.find_element(".ag-header-cell[col-id='best_value']").text == "best accuracy"
    assert _cell(duo, small, "best_value") == "0.84" and _cell(duo, large, "best_value") == "0.93"
    assert _cell(duo, large, "best_run") == "cnn-large-3"
    assert re.search(r"just now|ago|\d", _cell(duo, small, "last_activity"))
    assert duo.find_element("#project-trends-link").get_attribute("href").endswith(
        f"/projects/{imaging.project_id}/trends")
    shot(duo, "project-01-best-accuracy")
    duo.select_dcc_dropdown("#project-metric", "loss")
    duo.wait_for_text_to_equal(".ag-header-cell[col-id='best_value'] .ag-header-cell-text", "best loss")
    _wait(duo, "return document.querySelector(\"#project-mode input[value='min']\").checked",
          "loss did not default to min")
    duo.wait_for_text_to_equal(
        f"#project-experiments-grid .ag-row[row-id='{small}'] .ag-cell[col-id='best_value']", "0.47")
    assert _cell(duo, large, "best_value") == "0.25"
    assert parse_qs(urlsplit(duo.driver.current_url).query) == {"metric": ["loss"], "mode": ["min"]}
    duo.find_element("#project-mode input[value='max']").click()  # the worst loss now
    duo.wait_for_text_to_equal(
        f"#project-experiments-grid .ag-row[row-id='{small}'] .ag-cell[col-id='best_value']", "0.52")
    assert _cell(duo, large, "best_run") == "cnn-large-0"
    shot(duo, "project-02-worst-loss")
    _open(duo, imaging, "?metric=loss&mode=min")  # a copied link opens the same view
    assert duo.find_element(".ag-header-cell[col-id='best_value']").text == "best loss"
    assert _cell(duo, large, "best_value") == "0.25"
    link = duo.find_element(f"#project-experiments-grid .ag-row[row-id='{large}'] .ag-cell[col-id='best_run'] a")
    assert link.get_attribute("href").endswith(f"/runs/{imaging.run_ids['cnn-large'][3]}")
    link.click()
    duo.wait_for_contains_text("#run-content h1", "cnn-large-3", timeout=30)  # the run page can be slow to load
    assert duo.get_logs() == []


def test_settings_change_description_and_share_with_another_team(duo: DashComposite, imaging: Imaging) -> None:
    login(duo, "alice", next_path=f"/projects/{imaging.project_id}")
    _open(duo, imaging)
    duo.find_element("#project-settings-open").click()
    duo.wait_for_element("#project-settings-description")
    duo.wait_for_contains_text("#project-shares", "Not shared with other teams")  # .text is '' while it fades in
    duo.clear_input("#project-settings-description")
    duo.find_element("#project-settings-description").send_keys("Chest X-ray classifiers, shared with radiology")
    duo.clear_input("#project-settings-tags")
    duo.find_element("#project-settings-tags").send_keys("vision, radiology")
    duo.find_element("#project-settings-save").click()
    duo.wait_for_text_to_equal("#project-header .page-subtitle", "Chest X-ray classifiers, shared with radiology")
    assert [b.text for b in duo.find_elements("#project-header .tag-badge")] == ["radiology", "vision"]
    duo.find_element("#project-settings-open").click()
    duo.wait_for_element("#project-share-team").send_keys("no-such-team")
    duo.find_element("#project-share-add").click()
    duo.wait_for_contains_text("#project-share-message", "team 'no-such-team' not found")
    duo.clear_input("#project-share-team")
    duo.find_element("#project-share-team").send_keys("other-team")
    duo.find_element("#project-share-add").click()
    duo.wait_for_contains_text("#project-share-message", "Shared with other-team as viewer")
    duo.wait_for_contains_text("#project-shares .share-row", "other-team")
    shot(duo, "project-03-settings")
    assert duo.get_logs() == []
    login(duo, "bob")
    duo.wait_for_contains_text("#_pages_content", "imaging-ai")
    assert "healthcare-ai" not in duo.find_element("#_pages_content").text
    _open(duo, imaging)
    assert "shared with radiology" in duo.find_element("#project-header").text
    assert not duo.driver.find_elements("css selector", "#project-settings-open")  # a viewer: no settings
    shot(duo, "project-04-bob-viewer")
    assert duo.get_logs() == []


def test_select_two_experiments_then_compare_shows_p_values(duo: DashComposite, imaging: Imaging) -> None:
    login(duo, "alice", next_path=f"/projects/{imaging.project_id}")
    _open(duo, imaging)
    button = duo.find_element("#project-compare")
    assert button.get_attribute("disabled") or "disabled" in button.get_attribute("class")
    for name in ("cnn-small", "cnn-large"):
        box = duo.wait_for_element(f"#project-experiments-grid .ag-row[row-id='{imaging.experiment_ids[name]}'] "
                                   "input[type='checkbox']")
        duo.driver.execute_script("arguments[0].click()", box)
    duo.wait_for_text_to_equal("#project-selection", "2 selected")
    _wait(duo, "return !document.querySelector('#project-compare').disabled", "Compare never enabled")
    shot(duo, "project-05-selected")
    duo.find_element("#project-compare").click()
    duo.wait_for_contains_text("#viz-content h1", "Experiment comparison")
    assert urlsplit(duo.driver.current_url).path.startswith("/visualizations/")
    duo.wait_for_contains_text("#viz-best", "cnn-large")
    p_value = duo.wait_for_element(".viz-metric td.p-value").text
    assert re.fullmatch(r"< 0\.0001|0\.\d{4}", p_value), p_value
    shot(duo, "project-06-comparison")
    assert duo.get_logs() == []
