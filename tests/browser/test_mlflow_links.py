"""The links the mlflow client prints (MLflow UI routes: /#/experiments/<id>/runs/<run_id>) open our pages."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

from services import mlflow_store
from tests.browser.conftest import login
from tests.browser.seed import Seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _wait_path(duo: DashComposite, path: str) -> None:
    WebDriverWait(duo.driver, 10).until(lambda d: urlsplit(d.current_url).path == path,
                                        f"never reached {path}: {duo.driver.current_url}")


def test_mlflow_run_link_opens_the_run_after_sign_in(duo: DashComposite, seed: Seed) -> None:
    run_id = seed.run_ids[0]
    login(duo, "alice", next_path=f"/#/experiments/{seed.experiment_id}/runs/{run_id}")
    _wait_path(duo, f"/runs/{run_id}")
    duo.wait_for_contains_text("#run-content h1", "run-")
    duo.driver.get(f"{duo.server.url}/#/experiments/{seed.experiment_id}")
    _wait_path(duo, f"/experiments/{seed.experiment_id}")
    duo.wait_for_element("#run-grid .ag-row")
    assert duo.get_logs() == []


def test_default_experiment_zero_opens_the_users_default(duo: DashComposite, seed: Seed) -> None:
    duo.driver.get(f"{duo.server.url}/experiments/0")
    duo.wait_for_contains_text("#not-found", "Not found")  # alice has not logged to experiment "0" yet
    default_id = mlflow_store.default_experiment_id(seed.core, seed.alice, create=True)
    duo.driver.get(f"{duo.server.url}/#/experiments/0")
    _wait_path(duo, f"/experiments/{default_id}")
    duo.wait_for_contains_text("#exp-content h1", "Default")
    assert duo.get_logs() == []
