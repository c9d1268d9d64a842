"""Run page chart options in a real browser: x axis by wall time, log-scale y, carried by the URL and restored."""
from __future__ import annotations

import math

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import Select, WebDriverWait

from services import metrics, runs
from services.metrics import Point
from tests.browser.conftest import login, shot
from tests.browser.seed import Seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
START = 1_700_000_000_000
LOSS_TITLE = "#run-charts .metric-chart:first-of-type"


@pytest.fixture(scope="module")
def chart_run(seed: Seed) -> str:
    """A run logged once a minute for an hour and a half: loss falls over decades (a log-scale shape), score crosses 0."""
    run = runs.create_run(seed.core, seed.alice, seed.experiment_id, "charts-run", {"lr": 0.01},
                          start_time=START)
    points = [Point("loss", 2.0 * math.exp(-s / 12), s, START + (s + 1) * 60_000) for s in range(90)]
    points += [Point("score", s / 10 - 2, s, START + (s + 1) * 60_000) for s in range(90)]
    metrics.log_points(seed.core, seed.alice, run["id"], points)
    return run["id"]


def _axis(duo: DashComposite, index: int, axis: str) -> str:
    """The axis type plotly actually drew in the index-th chart (linear, log or date)."""
    script = "const p = document.querySelectorAll('#run-charts .js-plotly-plot')[arguments[0]];" \
             "return p && p._fullLayout ? p._fullLayout[arguments[1]].type : null;"
    return duo.driver.execute_script(script, index, axis)


def _wait_axes(duo: DashComposite, x: str, y: str) -> None:
    WebDriverWait(duo.driver, 10).until(lambda _: _axis(duo, 0, "xaxis") == x and _axis(duo, 0, "yaxis") == y,
                                        f"axes never became x={x}, y={y}")


def test_wall_time_and_log_scale_go_to_the_url_and_come_back(duo: DashComposite, chart_run: str) -> None:
    login(duo, "alice", next_path=f"/runs/{chart_run}")
    duo.wait_for_contains_text("#run-content h1", "charts-run")
    duo.wait_for_contains_text("#run-charts .xtitle", "step")
    _wait_axes(duo, "linear", "linear")
    assert "x=" not in duo.driver.current_url and "logy" not in duo.driver.current_url
    Select(duo.find_element("#run-x-axis")).select_by_visible_text("Wall time")
    duo.find_element("label[for='run-log-y']").click()
    duo.wait_for_contains_text("#run-charts .xtitle", "wall time (UTC)")
    _wait_axes(duo, "date", "log")
    ticks = " ".join(t.text for t in duo.find_elements("#run-charts .js-plotly-plot .xtick text"))
    assert ":" in ticks  # clock times, not step numbers
    duo.wait_for_contains_text("#run-charts", "21 values ≤ 0 not shown on the log scale")  # score: -2 … -0.1 and 0
    WebDriverWait(duo.driver, 10).until(lambda d: "x=wall" in d.current_url and "logy=1" in d.current_url)
    shot(duo, "20-run-charts-wall-log")
    assert duo.get_logs() == []

    link = duo.driver.current_url
    duo.driver.get(link)  # a copied link opens the same view
    duo.wait_for_contains_text("#run-charts .xtitle", "wall time (UTC)")
    _wait_axes(duo, "date", "log")
    assert Select(duo.find_element("#run-x-axis")).first_selected_option.text == "Wall time"
    assert duo.find_element("#run-log-y").is_selected()
    assert duo.driver.current_url == link
    assert duo.get_logs() == []


def test_relative_time_smoothing_and_one_chart_per_row_from_a_link(duo: DashComposite, chart_run: str) -> None:
    login(duo, "alice", next_path=f"/runs/{chart_run}")
    duo.wait_for_contains_text("#run-content h1", "charts-run")
    duo.driver.get(f"{duo.server.url}/runs/{chart_run}?x=relative&smooth=0.8&cols=1")
    duo.wait_for_contains_text("#run-charts .xtitle", "time since start (min)")
    _wait_axes(duo, "linear", "linear")
    assert duo.find_element("#run-smooth-label").text == "Smoothing 0.80"
    widths = duo.driver.execute_script(
        "return [...document.querySelectorAll('#run-charts .js-plotly-plot')].map(p => p.offsetWidth);")
    holder = duo.find_element("#run-charts").size["width"]
    assert len(widths) == 2 and min(widths) > 0.9 * holder  # one chart per row: full width
    traces = duo.driver.execute_script(
        "return document.querySelectorAll('#run-charts .js-plotly-plot')[0].data.length;")
    assert traces == 2  # the raw line drawn faint behind the smoothed one
    shot(duo, "21-run-charts-relative-smoothed")
    assert duo.get_logs() == []
