"""Browser sign-in and the session guard in front of pages, Dash callbacks and the API (Flask test client)."""
from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from auth.web import safe_next
from db.models import User
from tests.browser.seed import PASSWORD, Seed, seed_dashboard


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=1)


@pytest.fixture
def browser(backend: Any, core: Any) -> FlaskClient:
    """A client from its own loopback address: login failures are counted per address, and the counts outlive
    a test (they live in Redis on the Postgres backend), so no test sees another's."""
    client = backend.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "127." + ".".join(str(secrets.randbelow(250) + 2) for _ in range(3))
    return client


def _csrf(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _login(client: FlaskClient, username: str = "alice", password: str = PASSWORD, **extra: str) -> Any:
    return client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(client),
                                       **extra})


def test_anonymous_pages_redirect_and_dash_endpoints_refuse(browser: FlaskClient, seed: Seed) -> None:
    page = browser.get(f"/experiments/{seed.experiment_id}?sort=name")
    assert page.status_code == 302
    assert page.headers["Location"] == f"/login?next=/experiments/{seed.experiment_id}%3Fsort%3Dname"
    for path in ("/_dash-layout", "/_dash-dependencies"):
        answer = browser.get(path)
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"
    assert browser.post("/_dash-update-component", json={}).status_code == 401
    assert browser.get("/api/v1/projects").status_code == 401
    assert browser.get("/assets/app.css").status_code == 200
    assert browser.get("/login").status_code == 200


def test_wrong_password_then_right_one_goes_to_next(browser: FlaskClient, seed: Seed) -> None:
    wrong = _login(browser, password="nope-nope")
    assert wrong.status_code == 200 and "Wrong username or password." in wrong.get_data(as_text=True)
    assert browser.get("/projects").status_code == 302
    right = _login(browser, next=f"/projects/{seed.project_id}")
    assert right.status_code == 302 and right.headers["Location"] == f"/projects/{seed.project_id}"
    assert browser.get_cookie("remember_token") is None
    assert browser.get("/projects").status_code == 200 and browser.get("/_dash-layout").status_code == 200


def test_bundles_stay_in_the_browser_cache_and_pages_keep_one_csrf_cookie(browser: FlaskClient,
                                                                          seed: Seed) -> None:
    """Signed in, a page load must not churn cookies: a Set-Cookie or "Vary: Cookie" on the JS/CSS bundles would
    make the browser fetch or revalidate all of them (≈ 3.5 MB) on every page."""
    assert _login(browser).status_code == 302
    first = browser.get("/projects")
    assert first.status_code == 200 and "_csrf_token=" in first.headers.get("Set-Cookie", "")
    again = browser.get(f"/experiments/{seed.experiment_id}")
    assert again.status_code == 200 and "Set-Cookie" not in again.headers  # the cookie it has is still valid
    asset = browser.get("/assets/app.css?m=12345")
    assert asset.status_code == 200 and "Set-Cookie" not in asset.headers and "Cookie" not in asset.vary
    assert asset.cache_control.max_age == 365 * 24 * 3600 and not asset.cache_control.no_cache
    assert browser.get("/assets/app.css").cache_control.max_age is None  # not fingerprinted: revalidated
    bundle_path = re.search(r'src="(/_dash-component-suites/[^"]+dash_ag_grid[^"]+)"', again.get_data(as_text=True))
    bundle = browser.get(bundle_path.group(1))
    assert bundle.status_code == 200 and "Set-Cookie" not in bundle.headers and "Cookie" not in bundle.vary
    browser.delete_cookie("_csrf_token")
    assert "_csrf_token=" in browser.get("/projects").headers.get("Set-Cookie", "")  # lost: set again


def test_remember_me_sets_a_lasting_cookie(browser: FlaskClient, seed: Seed) -> None:
    assert _login(browser, remember="1").status_code == 302
    assert browser.get_cookie("remember_token") is not None


def test_login_form_needs_its_csrf_token(browser: FlaskClient, seed: Seed) -> None:
    answer = browser.post("/login", data={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    assert browser.get("/projects").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "", None])
def test_next_never_leaves_the_site(target: str | None) -> None:
    assert safe_next(target) == "/projects"
    assert safe_next("/runs/abc?x=1") == "/runs/abc?x=1"


def test_repeated_failures_are_rate_limited(browser: FlaskClient, seed: Seed) -> None:
    for _ in range(5):
        assert _login(browser, password="wrong-password").status_code == 200
    limited = _login(browser)  # even the right password waits now
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in limited.get_data(as_text=True)
    assert browser.get("/projects").status_code == 302


def test_successful_logins_do_not_count_towards_the_limit(browser: FlaskClient, seed: Seed) -> None:
    for _ in range(7):
        assert _login(browser).status_code == 302
        browser.get("/logout")


def test_session_reaches_the_api_and_writes_need_the_csrf_header(browser: FlaskClient, seed: Seed) -> None:
    _login(browser)
    assert browser.get("/api/v1/projects").get_json()["total"] == 2
    refused = browser.post("/api/v1/projects", json={"name": "via-session", "team": "ml-team"})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    browser.get("/projects")  # a page load hands out the token cookie Dash sends back as X-CSRFToken
    token = browser.get_cookie("_csrf_token").value
    created = browser.post("/api/v1/projects", json={"name": "via-session", "team": "ml-team"},
                           headers={"X-CSRFToken": token})
    assert created.status_code == 201


def test_dash_callbacks_need_the_csrf_header(browser: FlaskClient, seed: Seed) -> None:
    _login(browser)
    browser.get("/projects")
    body = {"output": "nav-search-results.children", "outputs": {"id": "nav-search-results", "property": "children"},
            "inputs": [{"id": "nav-search", "property": "value", "value": "health"}],
            "changedPropIds": ["nav-search.value"], "state": []}
    assert browser.post("/_dash-update-component", json=body).status_code == 400
    answer = browser.post("/_dash-update-component", json=body,
                          headers={"X-CSRFToken": browser.get_cookie("_csrf_token").value})
    assert answer.status_code == 200 and "healthcare-ai" in answer.get_data(as_text=True)


def test_logout_and_deactivation_end_the_session(browser: FlaskClient, core: Any, seed: Seed) -> None:
    _login(browser)
    assert browser.get("/logout").headers["Location"] == "/login"
    assert browser.get("/projects").status_code == 302
    _login(browser)
    with core.sessions.begin() as session:
        session.execute(update(User).where(User.username == "alice").values(is_active=False))
    core.cache.clear()
    assert browser.get("/projects").status_code == 302
    assert browser.get("/_dash-layout").status_code == 401
