"""Trends and cost in the shared headless Chromium: project trends, experiment trends, run cost card, team totals."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import WebDriverWait

from components.trends import money
from services import accounts, experiments, metrics, projects, resources, runs
from services.metrics import Point
from tests.browser.conftest import full_shot, login
from tests.browser.seed import Seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
T0 = 1_700_300_000_000
HOUR = 3_600_000
POINTS = "{} .scatterlayer .trace .points path.point"
# per experiment: (status, hours, accuracy, loss) of each run
LOGGED = {"arima": [("FINISHED", 1.0, 0.71, 0.60), ("FAILED", 0.5, 0.65, 0.70)],
          "prophet": [("FINISHED", 2.0, 0.78, 0.45), ("KILLED", 0.25, 0.74, 0.50), ("FINISHED", 1.5, 0.81, 0.41)],
          "lstm": [("FINISHED", 3.0, 0.86, 0.33), ("FAILED", 0.1, 0.40, 0.95)]}


@dataclass
class Forecast:
    project_id: str
    experiment_ids: dict[str, str]
    run_ids: dict[str, list[str]]
    costly_run_id: str


@pytest.fixture(scope="module")
def forecast(duo: DashComposite, seed: Seed) -> Iterator[Forecast]:
    """A third project of alice's team (this module runs last) with three experiments, and resources on one run."""
    alice = seed.alice
    project = projects.create_project(seed.core, alice, "forecasting", "Demand forecasts", "ml-team")
    exp_ids, run_ids = {}, {}
    for e, (name, logged) in enumerate(LOGGED.items()):
        exp = experiments.create_experiment(seed.core, alice, project["id"], name)
        exp_ids[name], run_ids[name] = exp["id"], []
        for i, (status, hours, acc, loss) in enumerate(logged):
            start = T0 + e * 86_400_000 + i * HOUR
            run = runs.create_run(seed.core, alice, exp["id"], f"{name}-{i}", start_time=start)
            metrics.log_points(seed.core, alice, run["id"], [Point("accuracy", acc, 0, start),
                                                             Point("loss", loss, 0, start)])
            runs.update_run(seed.core, alice, run["id"], status=status, end_time=start + int(hours * HOUR))
            run_ids[name].append(run["id"])
    costly = run_ids["lstm"][0]
    resources.log_resources(seed.core, alice, costly, {"cpu_hours": 24.0, "gpu_hours": 3.0})
    yield Forecast(project["id"], exp_ids, run_ids, costly)
    duo.driver.get(f"{duo.server.url}/logout")


def _count(duo: DashComposite, selector: str, expected: int) -> None:
    WebDriverWait(duo.driver, 10).until(lambda d: len(d.find_elements("css selector", selector)) == expected,
                                        f"{expected} elements at {selector}")


def _query(duo: DashComposite) -> dict:
    return parse_qs(urlsplit(duo.driver.current_url).query)


def test_project_trends_best_point_per_experiment_and_cost(duo: DashComposite, forecast: Forecast) -> None:
    login(duo, "alice", next_path=f"/projects/{forecast.project_id}/trends")
    duo.wait_for_contains_text("#trends-content h1", "forecasting · trends")
    _count(duo, POINTS.format("#trends-best-chart"), 3)  # one point per experiment
    assert "higher is better" in duo.find_element("#trends-mode").text
    duo.wait_for_element("#trends-outcomes-graph .barlayer")
    duo.wait_for_element("#trends-durations-graph .boxlayer")
    usage = duo.find_element("#trends-usage").text
    assert money(24 * 0.05 + 3 * 2.5) in usage and "lstm" in usage and "prophet" in usage
    full_shot(duo, "trends-01-project")
    assert duo.get_logs() == []

    point = duo.driver.find_elements("css selector", POINTS.format("#trends-best-chart"))[-1]  # lstm, newest
    ActionChains(duo.driver).move_to_element(point).click().perform()
    WebDriverWait(duo.driver, 10).until(
        lambda d: urlsplit(d.current_url).path == f"/experiments/{forecast.experiment_ids['lstm']}",
        "a click on a point opens its experiment")
    duo.wait_for_contains_text("#exp-content h1", "lstm")
    assert duo.get_logs() == []

    duo.driver.get(f"{duo.server.url}/projects/{forecast.project_id}/trends")
    _count(duo, POINTS.format("#trends-best-chart"), 3)
    duo.select_dcc_dropdown("#trends-metric", "loss")
    WebDriverWait(duo.driver, 10).until(lambda d: _query(duo).get("mode") == ["min"], "mode follows the metric")
    assert _query(duo)["metric"] == ["loss"]
    _count(duo, POINTS.format("#trends-best-chart"), 3)
    assert duo.get_logs() == []


def test_experiment_trends_scatter_by_status(duo: DashComposite, forecast: Forecast) -> None:
    login(duo, "alice", next_path=f"/experiments/{forecast.experiment_ids['prophet']}/trends?value=best")
    duo.wait_for_contains_text("#exp-trends-content h1", "prophet · trends")
    _count(duo, POINTS.format("#exp-trends-runs-chart"), 3)  # each run at its start time
    legend = duo.find_element("#exp-trends-runs-chart .legend").text
    assert "finished" in legend and "killed" in legend and "running best (max)" in legend
    assert duo.find_element("#exp-trends-summary input[value='best']").is_selected()
    full_shot(duo, "trends-02-experiment")
    assert duo.get_logs() == []


def test_run_cost_card_and_team_totals(duo: DashComposite, forecast: Forecast) -> None:
    login(duo, "alice", next_path=f"/runs/{forecast.costly_run_id}")
    expected = money(24 * 0.05 + 3 * 2.5)
    duo.wait_for_text_to_equal("#run-cost-total", expected)
    card = duo.find_element("#run-cost-card").text
    assert "CPU hours" in card and "24" in card and "—" in card  # peak memory not logged
    full_shot(duo, "trends-03-run-cost")
    assert duo.get_logs() == []

    duo.driver.get(f"{duo.server.url}/runs/{forecast.run_ids['arima'][0]}")
    duo.wait_for_element("#run-safety *")
    assert duo.driver.find_elements("css selector", "#run-cost-card") == []  # no figures: no card
    assert duo.get_logs() == []

    duo.driver.get(f"{duo.server.url}/teams")
    duo.wait_for_contains_text("#teams-list", "Usage & cost")
    duo.wait_for_contains_text("#team-ml-team", expected)
    assert duo.driver.find_elements("css selector", "#team-ml-team input[id*='team-rate']") == []  # editors: no form
    assert duo.get_logs() == []


def _rate(duo: DashComposite, name: str, value: str) -> None:
    field = duo.find_element(f"#team-ml-team input[id*='{name}']")
    field.clear()
    field.send_keys(value)


def test_team_admin_edits_rates(duo: DashComposite, seed: Seed, forecast: Forecast) -> None:
    """alice is ml-team admin for this test only; a bad rate is refused, a good one reprices the team's runs."""
    accounts.set_membership(seed.core, None, "ml-team", "alice", "admin")
    try:
        login(duo, "alice", next_path="/teams")
        duo.wait_for_element("#team-ml-team input[id*='cpu_per_hour']")
        _rate(duo, "cpu_per_hour", "cheap")
        duo.find_element("#team-ml-team button[id*='team-rates-save']").click()
        duo.wait_for_contains_text("#team-message", "CPU $/hour must be a number")
        assert resources.get_rates(seed.core, seed.alice, "ml-team")["custom"] is False  # nothing written
        _rate(duo, "cpu_per_hour", "0.1")
        _rate(duo, "gpu_per_hour", "3")
        duo.find_element("#team-ml-team button[id*='team-rates-save']").click()
        duo.wait_for_contains_text("#team-message", "Rates of ml-team saved")
        duo.wait_for_contains_text("#team-ml-team", money(24 * 0.1 + 3 * 3))
        assert "$0.1 per CPU hour" in duo.find_element("#team-ml-team").text
        full_shot(duo, "trends-04-teams-admin")
        assert duo.get_logs() == []
    finally:
        accounts.set_membership(seed.core, None, "ml-team", "alice", "editor")
