"""The dashboard's real user paths in one headless Chromium: sign-in, browse, run table, access control."""
from __future__ import annotations

from urllib.parse import quote, parse_qs, urlsplit

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from services import metrics, runs
from services.metrics import Point
from tests.browser.conftest import login, shot
from tests.browser.seed import Seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _url(duo: DashComposite) -> str:
    return duo.driver.current_url


def _wait_url(duo: DashComposite, fragment: str, timeout: float = 10) -> None:
    WebDriverWait(duo.driver, timeout).until(lambda d: fragment in d.current_url,
                                             f"URL never contained {fragment!r}: {duo.driver.current_url}")


def _wait_first_run(duo: DashComposite, name: str) -> None:
    selector = "#run-grid .ag-pinned-left-cols-container .ag-row[row-index='0'] [col-id='name']"
    duo.wait_for_text_to_equal(selector, name, timeout=10)


def test_sign_in_wrong_then_right_password(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/projects/{seed.project_id}")
    duo.wait_for_element("#username")
    assert urlsplit(_url(duo)).path == "/login" and "next=/projects/" in _url(duo)
    duo.find_element("#username").send_keys("alice")
    duo.find_element("#password").send_keys("not-the-password")
    duo.find_element("#login-submit").click()
    duo.wait_for_contains_text("#login-error", "Wrong username or password")
    shot(duo, "01-login-wrong-password")
    duo.find_element("#password").send_keys("correct-horse-battery")
    duo.find_element("#remember").click()
    duo.find_element("#login-submit").click()
    duo.wait_for_contains_text("#project-content h1", "healthcare-ai")
    assert urlsplit(_url(duo)).path == f"/projects/{seed.project_id}"
    assert duo.driver.get_cookie("remember_token") is not None
    duo.wait_for_contains_text("#nav-user-name", "alice")
    assert duo.get_logs() == []


def test_project_browser_to_run_table(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/projects")
    duo.wait_for_contains_text("#projects-count", "2 projects")
    duo.wait_for_contains_text("#projects-grid", "healthcare-ai")
    assert "churn" in duo.find_element("#projects-grid").text
    shot(duo, "02-projects")
    assert duo.get_logs() == []
    duo.find_element("#projects-grid a.row-link[href='/projects/%s']" % seed.project_id).click()
    duo.wait_for_contains_text("#project-experiments-grid", "baseline-model-v1")
    assert "TF-IDF + MultinomialNB" in duo.find_element("#project-experiments-grid").text
    shot(duo, "03-project")
    assert duo.get_logs() == []
    duo.find_element("#project-experiments-grid a.row-link[href='/experiments/%s']" % seed.experiment_id).click()
    duo.wait_for_text_to_equal("#run-count", "30 runs")
    assert "Hypothesis" in duo.find_element(".hypothesis").text
    shot(duo, "04-run-table")
    headers = duo.find_element("#run-grid .ag-header").text
    for column in ("alpha", "algorithm", "accuracy", "loss", "Status", "Duration"):
        assert column in headers
    assert duo.get_logs() == []


def test_filter_by_tag_from_url(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/projects?tag=tabular")
    duo.wait_for_contains_text("#projects-count", "1 project")
    assert "churn" in duo.find_element("#projects-grid").text
    assert "healthcare-ai" not in duo.find_element("#projects-grid").text
    assert duo.get_logs() == []


def test_run_table_sort_by_header_goes_to_url(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/experiments/{seed.experiment_id}")
    duo.wait_for_text_to_equal("#run-count", "30 runs")
    _wait_first_run(duo, "run-029")  # newest first by default
    header = "#run-grid .ag-header-cell[col-id='p:alpha'] .ag-header-cell-label"
    duo.find_element(header).click()
    _wait_first_run(duo, "run-000")
    _wait_url(duo, "sort=p:alpha")
    duo.find_element(header).click()
    _wait_first_run(duo, "run-029")
    _wait_url(duo, "sort=-p:alpha")
    assert duo.get_logs() == []


def test_shared_link_restores_sort_filter_and_selection(duo: DashComposite, seed: Seed) -> None:
    chosen = seed.run_ids[4]
    link = (f"{duo.server.url}/experiments/{seed.experiment_id}?sort=m:loss:last"
            f"&filter=%7B%22status%22%3A%7B%22filterType%22%3A%22text%22%2C%22type%22%3A%22equals%22%2C"
            f"%22filter%22%3A%22RUNNING%22%7D%7D&sel={chosen}&agg=min")
    duo.driver.get(link)
    duo.wait_for_text_to_equal("#run-count", "20 runs")  # 10 of 30 were finished, failed or killed
    _wait_first_run(duo, "run-029")  # lowest final loss among the running ones
    assert "accuracy (min)" in duo.find_element("#run-grid .ag-header").text
    duo.wait_for_text_to_equal("#run-selection", "1 selected")
    shot(duo, "05-run-table-shared-link")
    query = parse_qs(urlsplit(_url(duo)).query)
    assert query["sort"] == ["m:loss:last"] and query["sel"] == [chosen] and query["agg"] == ["min"]
    assert duo.get_logs() == []


def test_column_chooser_hides_columns_and_the_link_keeps_them_hidden(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/experiments/{seed.experiment_id}")
    _wait_first_run(duo, "run-029")
    header = "#run-grid .ag-header"
    assert "algorithm" in duo.find_element(header).text and "User" in duo.find_element(header).text
    duo.find_element("#run-columns-button").click()
    duo.wait_for_element(".column-chooser #run-columns-params")
    for name in ("algorithm", "User"):
        box = duo.driver.find_element(By.XPATH, f"//div[contains(@class,'column-chooser')]//label[text()='{name}']")
        duo.driver.execute_script("arguments[0].click()", box)  # the popover may reach below the window
    duo.wait_for_text_to_equal("#run-columns-button", "Columns (7 of 9)")
    WebDriverWait(duo.driver, 10).until(lambda d: "algorithm" not in d.find_element(By.CSS_SELECTOR, header).text,
                                        "the unchecked param column stayed in the table")
    _wait_url(duo, "hide=user,p:algorithm")
    shot(duo, "05b-column-chooser")
    duo.driver.get(_url(duo))  # the shared link: the same columns hidden
    _wait_first_run(duo, "run-029")
    assert "algorithm" not in duo.find_element(header).text and "User" not in duo.find_element(header).text
    assert "alpha" in duo.find_element(header).text
    assert duo.get_logs() == []


def test_metric_filter_from_url_uses_number_filter_and_formats_values(duo: DashComposite, seed: Seed) -> None:
    flt = '{"m:accuracy:last":{"filterType":"number","type":"greaterThan","filter":0.9}}'
    duo.driver.get(f"{duo.server.url}/experiments/{seed.experiment_id}?filter={quote(flt)}")
    duo.wait_for_text_to_equal("#run-count", "10 runs")  # final accuracy 0.804 + 0.005 i > 0.9 for i = 20..29
    _wait_first_run(duo, "run-029")
    loss = "#run-grid .ag-row[row-index='0'] [col-id='m:loss:last']"
    duo.wait_for_text_to_equal(loss, "0.0733")  # 1/30 + 0.04, rounded by the metric column type's formatter
    assert duo.get_logs() == []


def test_new_run_appears_without_reload(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/experiments/{seed.experiment_id}")
    duo.wait_for_text_to_equal("#run-count", "30 runs")
    runs.create_run(seed.core, seed.alice, seed.experiment_id, "live-run", {"alpha": 9.9, "lr": 0.01})
    duo.wait_for_text_to_equal("#run-count", "31 runs", timeout=4)
    _wait_first_run(duo, "live-run")
    WebDriverWait(duo.driver, 4).until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "#run-grid .ag-header-cell[col-id='p:lr']")))  # a new param key became a column
    assert duo.get_logs() == []


def test_navbar_search_and_switcher(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/projects")
    duo.wait_for_contains_text("#projects-grid", "healthcare-ai")
    duo.find_element("#nav-search").send_keys("bert")
    duo.wait_for_contains_text("#nav-search-results", "bert-finetune")
    shot(duo, "06-search")
    duo.find_element("#nav-search-results a.search-item").click()
    duo.wait_for_contains_text("#exp-content h1", "bert-finetune")
    duo.wait_for_text_to_equal("#run-count", "0 runs")
    duo.select_dcc_dropdown("#nav-project-switch", "churn\nml-team")  # option text: name, then team
    duo.wait_for_contains_text("#project-content h1", "churn")
    assert urlsplit(_url(duo)).path == f"/projects/{seed.other_project_id}"
    assert duo.get_logs() == []


def test_unknown_page_is_not_found(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/no/such/page")
    duo.wait_for_contains_text("#not-found", "Not found")
    shot(duo, "07-404")
    assert duo.get_logs() == []


def test_user_of_another_team_is_refused(duo: DashComposite, seed: Seed) -> None:
    login(duo, "bob")
    duo.wait_for_element("#projects-empty-state")
    assert "healthcare-ai" not in duo.find_element("#_pages_content").text
    assert "curl" in duo.find_element("#snippet-curl").text and "requests" in duo.find_element("#snippet-python").text
    shot(duo, "08-empty-state")
    assert duo.get_logs() == []
    duo.driver.get(f"{duo.server.url}/projects/{seed.project_id}")
    duo.wait_for_contains_text("#not-found", "does not exist, or you do not have access")
    assert "healthcare" not in duo.find_element("#_pages_content").text
    shot(duo, "09-project-not-visible")
    duo.driver.get(f"{duo.server.url}/experiments/{seed.experiment_id}")
    duo.wait_for_contains_text("#not-found", "Not found")
    assert "baseline" not in duo.find_element("#_pages_content").text
    assert duo.get_logs() == []


def test_run_page_charts_notes_and_children(duo: DashComposite, seed: Seed) -> None:
    parent_id = seed.run_ids[29]
    child = runs.create_run(seed.core, seed.alice, seed.experiment_id, "fold-1", {"fold": 1},
                            parent_run_id=parent_id)
    long = [Point("val_loss", 1.0 if step != 1234 else 50.0, step, 1_700_000_000_000 + step) for step in range(2000)]
    metrics.log_points(seed.core, seed.alice, parent_id, long)
    login(duo, "alice", next_path=f"/runs/{parent_id}")
    duo.wait_for_contains_text("#run-content h1", "run-029")
    duo.wait_for_contains_text("#run-parameters", "alpha")
    duo.wait_for_contains_text("#run-child-runs", "fold-1")
    duo.wait_for_element("#run-charts .metric-chart .main-svg")
    duo.wait_for_contains_text("#run-metric-table", "val_loss")
    assert "50" in duo.find_element("#run-metric-table").text  # the spike is the max
    duo.wait_for_contains_text("#run-charts", "2000 points in 500 min–max ranges")
    duo.find_element("#note-body").send_keys("Spike at 1234: bad batch")
    submit = duo.find_element("#note-submit")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", submit)
    shot(duo, "10-run-page-notes")
    duo.driver.execute_script("arguments[0].click()", submit)  # charts may still be settling the layout
    duo.wait_for_contains_text("#run-notes", "bad batch")
    duo.driver.execute_script("window.scrollTo(0, 0)")
    shot(duo, "10-run-page")
    assert duo.get_logs() == []
    duo.find_element(f"#run-child-runs a[href='/runs/{child['id']}']").click()
    duo.wait_for_contains_text("#run-content h1", "fold-1")
    duo.wait_for_contains_text("#run-parent-run", "run-029")
    assert duo.get_logs() == []


def test_tokens_and_teams_pages(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/settings/tokens")
    duo.wait_for_element("#token-name").send_keys("laptop")
    duo.find_element("#token-create").click()
    duo.wait_for_contains_text("#token-created-alert", "et_")
    duo.wait_for_contains_text("#tokens-list", "laptop")
    shot(duo, "11-tokens")
    duo.find_element("#tokens-list button").click()
    duo.wait_for_contains_text("#tokens-list", "revoked")
    assert duo.get_logs() == []
    duo.find_element("#nav-user-menu").click()
    duo.wait_for_element(".dropdown-menu a[href='/teams']").click()
    duo.wait_for_contains_text("#teams-list", "ml-team")
    assert "alice" in duo.find_element("#teams-list").text and "other-team" not in duo.find_element("#teams-list").text
    shot(duo, "12-teams")
    assert duo.get_logs() == []
