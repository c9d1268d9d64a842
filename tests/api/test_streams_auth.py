"""WebSocket metric streams on a real threaded server: authentication (bearer header or query token, basic auth,
a signed-in browser session from its own origin) and permissions (404 without leaks, viewers, lost access)."""
from __future__ import annotations

import base64
import re
import uuid
from typing import Callable

import pytest
import requests
from simple_websocket import ConnectionError as HandshakeError

from services import streams
from services.context import Core
from tests.api.streams_support import (  # noqa: F401 (live_url and world are fixtures)
    QUIET, SEED, WAIT, StreamClient, closing, connect, live_url, post_metrics, receive, refused, subscribers,
    wait_for, world, ws_url)
from tests.conftest import PASSWORD, Api

# ---------------------------------------------------------------- authentication and permissions


def test_token_in_the_query_string_authenticates_browsers(live_url: str, world: dict, core: Core) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as header_ws, \
            closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", None, token=alice.token)) as query_ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 2)
        post_metrics(live_url, alice.token, run_id, SEED)
        assert receive(header_ws) == receive(query_ws)


def test_basic_auth_is_accepted_like_the_rest_of_the_api(live_url: str, world: dict) -> None:
    run_id = world["runs"][0]
    basic = base64.b64encode(b"alice:correct-horse-battery").decode()
    url = ws_url(live_url, f"/api/v1/runs/{run_id}/metrics/stream")
    with closing(StreamClient.connect(url, headers={"Authorization": f"Basic {basic}"})) as ws:
        assert ws.receive(timeout=QUIET) is None and ws.connected


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_missing_or_unknown_token_is_refused_before_the_upgrade(live_url: str, world: dict,
                                                                token: str | None) -> None:
    path = f"/api/v1/runs/{world['runs'][0]}/metrics/stream"
    for attempt in (lambda: connect(live_url, path, token),
                    lambda: connect(live_url, path, None, **({"token": token} if token else {}))):
        with pytest.raises(HandshakeError) as failure:
            attempt()
        assert failure.value.status_code == 401


def test_runs_and_experiments_the_user_cannot_see_close_with_4404(live_url: str, world: dict,
                                                                  make_user: Callable[..., Api]) -> None:
    mallory = make_user("mallory", team="other-team", role="admin")
    targets = [f"/api/v1/runs/{world['runs'][0]}/metrics/stream",
               f"/api/v1/experiments/{world['exp']}/metrics/live",
               f"/api/v1/runs/{uuid.uuid4()}/metrics/stream",
               "/api/v1/experiments/no-such-experiment/metrics/live"]
    for path in targets:
        with closing(connect(live_url, path, mallory.token)) as ws:
            error, code = refused(ws)
            assert code == 4404 and error["code"] == "not_found", (path, error)
    # and the same answer for a run that exists and one that does not: no existence leak
    with closing(connect(live_url, targets[0], mallory.token)) as a, \
            closing(connect(live_url, targets[2], mallory.token)) as b:
        assert refused(a)[0]["field"] == refused(b)[0]["field"] == "run_id"


def test_viewers_may_stream(live_url: str, world: dict, make_user: Callable[..., Api], core: Core) -> None:
    viewer = make_user("victor", team="ml-team", role="viewer")
    run_id = world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", viewer.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        post_metrics(live_url, world["alice"].token, run_id, SEED)
        assert receive(ws)["run_id"] == run_id


def test_stream_closes_4404_when_the_run_is_deleted_or_access_is_lost(
        live_url: str, world: dict, make_user: Callable[..., Api], monkeypatch: pytest.MonkeyPatch,
        core: Core) -> None:
    monkeypatch.setattr(streams, "RECHECK_SECONDS", 0.2)
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        assert alice.delete(f"/api/v1/runs/{run_id}").status_code == 204
        error, code = refused(ws)
        assert (code, error["code"]) == (4404, "not_found")

    bob = make_user("bob", team="ml-team", role="viewer")
    exp_path = f"/api/v1/experiments/{world['exp']}/metrics/live"
    with closing(connect(live_url, exp_path, bob.token)) as ws:
        assert ws.receive(timeout=QUIET) is None  # streaming, nothing to say yet
        from services import accounts

        accounts.set_membership(core, None, "ml-team", "bob", None)
        error, code = refused(ws)
        assert (code, error["code"]) == (4404, "not_found")


def test_a_signed_in_browser_session_streams_from_its_own_origin_only(live_url: str, world: dict,
                                                                      core: Core) -> None:
    browser = requests.Session()
    page = browser.get(f"{live_url}/login", timeout=WAIT).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = browser.post(f"{live_url}/login", data={"username": "alice", "password": PASSWORD,
                                                        "csrf_token": csrf}, allow_redirects=False, timeout=WAIT)
    assert signed_in.status_code in (302, 303), signed_in.text[:300]
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    run_id = world["runs"][0]
    url = ws_url(live_url, f"/api/v1/runs/{run_id}/metrics/stream")
    # simple_websocket sends Host without the port, so the page's own origin is http://127.0.0.1 here
    with closing(StreamClient.connect(url, headers={"Cookie": cookie, "Origin": "http://127.0.0.1"})) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        post_metrics(live_url, world["alice"].token, run_id, SEED)
        assert receive(ws)["run_id"] == run_id
    with closing(StreamClient.connect(url, headers={"Cookie": cookie, "Origin": "http://evil.example"})) as ws:
        error, code = refused(ws)
        assert (code, error["code"]) == (4403, "forbidden")
    with pytest.raises(HandshakeError) as failure:  # no cookie, no token
        StreamClient.connect(url, headers={"Origin": "http://127.0.0.1"})
    assert failure.value.status_code == 401


def test_plain_http_get_answers_426(live_url: str, world: dict) -> None:
    alice = world["alice"]
    for path in (f"/api/v1/runs/{world['runs'][0]}/metrics/stream", f"/api/v1/experiments/{world['exp']}/metrics/live"):
        response = requests.get(live_url + path, headers={"Authorization": f"Bearer {alice.token}"}, timeout=WAIT)
        assert response.status_code == 426
        assert response.json()["error"]["code"] == "upgrade_required"
    spec = alice.get("/openapi/openapi.json").get_json()
    assert "/api/v1/runs/{run_id}/metrics/stream" in spec["paths"]
