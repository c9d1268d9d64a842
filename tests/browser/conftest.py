"""Browser fixtures: one seeded app on SQLite, one dash server thread and ONE headless Chromium for the package
(torn down when the browser tests end: dash.testing stops its server by raising SystemExit in every thread started
since, so later tests' threads must not be alive then)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from dash.testing.application_runners import ThreadedRunner
from dash.testing.composite import DashComposite
from selenium.webdriver.chrome.options import Options

from api.common import CORE_KEY
from app import create_app
from config import Settings
from tests.browser.seed import PASSWORD, Seed, seed_dashboard
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1280,900")


def pytest_setup_options() -> Options:
    """Used by dash_duo too: headless Chromium with no network chatter at 1280×900."""
    options = Options()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    return options


@pytest.fixture(scope="package")
def seeded_app() -> Iterator[tuple]:
    tmp = tempfile.mkdtemp(prefix="et-browser-")
    app = create_app(Settings(data_dir=tmp, secret_key="browser-test-secret", log_level="WARNING"))
    yield app, seed_dashboard(app.server.extensions[CORE_KEY])


@pytest.fixture(scope="package")
def duo(seeded_app: tuple, request: pytest.FixtureRequest) -> Iterator[DashComposite]:
    """dash_duo's composite (server thread + Chrome), built once and shared by every browser test."""
    app, _seed_data = seeded_app
    with ThreadedRunner() as runner:
        with DashComposite(server=runner, browser="Chrome", headless=True, options=[pytest_setup_options()],
                           download_path=tempfile.mkdtemp(prefix="et-dl-"), percy_run=False,
                           percy_finalize=False, wait_timeout=10) as composite:
            composite.start_server(app, navigate=False, port=_free_port())
            yield composite


@pytest.fixture(scope="package")
def seed(seeded_app: tuple) -> Seed:
    return seeded_app[1]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shot(duo: DashComposite, name: str) -> None:
    """Save a screenshot when ET_SCREENSHOTS names a folder (to look at the pages by eye)."""
    folder = os.environ.get("ET_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        duo.driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def full_shot(duo: DashComposite, name: str) -> None:
    """A screenshot of the whole page at 1280 px wide (the window grows for it, then goes back to 1280×900)."""
    height = duo.driver.execute_script("return document.documentElement.scrollHeight")
    duo.driver.set_window_size(1280, max(900, min(height + 150, 6000)))
    try:
        shot(duo, name)
    finally:
        duo.driver.set_window_size(1280, 900)


def login(duo: DashComposite, username: str, password: str = PASSWORD, next_path: str = "/projects",
          remember: bool = False) -> None:
    duo.driver.get(f"{duo.server.url}/logout")
    duo.driver.get(f"{duo.server.url}{next_path}")
    duo.wait_for_element("#username")
    duo.find_element("#username").send_keys(username)
    duo.find_element("#password").send_keys(password)
    if remember:
        duo.find_element("#remember").click()
    duo.find_element("#login-submit").click()


