"""Client mistakes get a 4xx JSON envelope naming the field, write nothing, and never cause a 500."""
from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

from sqlalchemy import func, select

from db.models import AuditEvent
from tests.api.test_projects import ok, seed
from tests.conftest import PASSWORD

JSON = "application/json"


def _audit_count(core) -> int:
    with core.sessions() as session:
        return session.execute(select(func.count(AuditEvent.id))).scalar_one()


def _state(api, ids: dict[str, str]) -> Any:
    """What a user could see of the seeded tree (volatile token fields left out)."""
    rid, eid = ids["run_id"], ids["experiment_id"]
    return [api.get(url).get_json() for url in (
        "/api/v1/projects", "/api/v1/experiments", f"/api/v1/experiments/{eid}/runs", f"/api/v1/runs/{rid}",
        f"/api/v1/runs/{rid}/metrics", f"/api/v1/runs/{rid}/artifacts")]


def _error(response: Any) -> dict:
    """The error object of an envelope (plain json: the app's strict parser would refuse an echoed NUL)."""
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return {}
    return body.get("error") or {} if isinstance(body, dict) else {}


def _send(api, method: str, url: str, body: Any) -> Any:
    """body: a JSON-able value, or ("raw", bytes, content_type) to send bytes as they are."""
    call = getattr(api.client, method.lower())
    headers = api._headers()
    if isinstance(body, tuple) and body and body[0] == "raw":
        _, data, content_type = body
        return call(url, data=data, content_type=content_type, headers=headers)
    return call(url, json=body, headers=headers)


def _check_rejected(api, core, ids, cases: list[tuple]) -> None:
    """Each (method, url, body, status, field) is refused as told and leaves the visible state unchanged."""
    before, audits = _state(api, ids), _audit_count(core)
    problems = []
    for method, url, body, status, field in cases:
        response = _send(api, method, url, body)
        error = _error(response)
        if response.status_code != status or not error.get("code") or not error.get("message"):
            problems.append((method, url, str(body)[:80], response.status_code, response.get_data(as_text=True)[:200]))
        elif field is not None and not re.fullmatch(field, error.get("field") or ""):
            problems.append((method, url, str(body)[:80], "field", error.get("field"), field))
    assert not problems, "\n".join(map(str, problems))
    assert _state(api, ids) == before
    assert _audit_count(core) == audits


def test_bad_metric_bodies_write_nothing(admin, core) -> None:
    ids = seed(admin)
    url = f"/api/v1/runs/{ids['run_id']}/metrics"
    ok(admin.post(url, json={"metrics": {"a": 1.0}, "step": 1, "timestamp": "2024-01-15T10:30:00Z"}), 201)
    good = {"metrics": {"a": 2.0}, "step": 2}
    steps = [{"metrics": {"a": 3.0, "b": 1.0}, "step": 3}, {"metrics": {"a": 4.0}, "step": 4}]
    bad: list[tuple[Any, int, str]] = [
        ({"metrics": {"accuracy": "high"}}, 400, r"metrics\.accuracy"),
        ({"metrics": {"a": True}}, 400, r"metrics\.a"),
        ({"metrics": {"a": None}}, 400, r"metrics\.a"),
        ({"metrics": {"a": [1]}}, 400, r"metrics\.a"),
        ({"metrics": {"a": "NaN"}}, 400, r"metrics\.a"),
        ({"metrics": {"a": "Infinity"}}, 400, r"metrics\.a"),
        (("raw", b'{"metrics": {"a": NaN}, "step": 5}', JSON), 400, r"metrics\.a"),
        (("raw", b'{"metrics": {"a": -Infinity}}', JSON), 400, r"metrics\.a"),
        (("raw", b'{"metrics": {"a": 1e999}}', JSON), 400, r"metrics\.a"),
        (("raw", b'{"metrics": {"a": 1, "a": 2}}', JSON), 400, r"metrics\.a"),
        (("raw", b'{"metrics": {"a": 1}, "step": 5, "step": 6}', JSON), 400, r"step"),
        ({**good, "step": "1"}, 400, r"step"),
        ({**good, "step": 1.5}, 400, r"step"),
        ({**good, "step": 2**60}, 400, r"step"),
        ({**good, "step": None}, 400, r"step"),
        ({"metrics": {"k" * 251: 1.0}}, 400, r"metrics.*"),
        ({"metrics": {"bad\x01key": 1.0}}, 400, r"metrics.*"),
        ({"metrics": {"": 1.0}}, 400, r"metrics.*"),
        ({"metrics": {}}, 400, r"metrics.*"),
        ({"metrics": "x"}, 400, r"metrics"),
        ({**good, "timestamp": "yesterday"}, 400, r"timestamp"),
        ({**good, "timestamp": "2024-02-30T10:00:00Z"}, 400, r"timestamp"),
        ({**good, "timestamp": "2024-01-15 25:00"}, 400, r"timestamp"),
        ({**good, "timestamp": -1}, 400, r"timestamp"),
        ({**good, "timestamp": 10**15}, 400, r"timestamp"),
        ({**good, "timestamp": True}, 400, r"timestamp"),
        ({**good, "timestamp": {}}, 400, r"timestamp"),
        ({**good, "steps": steps}, 400, r"metrics|steps"),
        ({}, 400, r"metrics|steps"),
        ({**good, "extra": 1}, 400, r"extra"),
        ({"steps": "x"}, 400, r"steps"),
        ({"steps": [{"metrics": {"a": 1.0}, "step": 7}, {"metrics": {"a": 2.0}, "step": 7}]}, 400,
         r"steps\[1\]\.metrics\.a"),
        ({"steps": [*steps, {"metrics": {"c": 1.0, "b": "x"}, "step": 5}]}, 400, r"steps\[2\]\.metrics\.b"),
        ({"steps": [*steps, {"metrics": {"c": 1.0}, "step": 5, "timestamp": "bad"}]}, 400, r"steps\[2\]\.timestamp"),
        ({"steps": [*steps, {"metrics": {"c": 1.0}, "step": 5, "extra": 1}]}, 400, r"steps\[2\]\.extra"),
        ({"steps": [*steps, {"metrics": {"c": 1.0}, "step": 1, "timestamp": "2024-01-15T10:30:00Z"},
                    {"metrics": {"a": 1.0}, "step": 1, "timestamp": "2024-01-15T10:30:00Z"}]}, 409, r"metrics"),
        (("raw", json.dumps({"steps": [*steps, {"metrics": {"c": 1.0}, "step": 5}]})[:-3].encode(), JSON), 400, None),
        (("raw", b'{"steps": [{"metrics": {"c": 1.0}}, {"metrics": {"a": NaN}}]}', JSON), 400,
         r"steps\[1\]\.metrics\.a"),
        (("raw", json.dumps(good).encode(), "text/plain"), 400, None),
        (("raw", b"metrics=1", "application/x-www-form-urlencoded"), 400, None),
        (("raw", b"", JSON), 400, None),
        (("raw", b"", None), 400, None),
        (("raw", json.dumps(json.dumps(good)).encode(), JSON), 400, None),
        ([good], 400, None),
    ]
    _check_rejected(admin, core, ids, [("POST", url, body, status, field) for body, status, field in bad])


def test_bad_names_types_and_ids_write_nothing(admin, core) -> None:
    ids = seed(admin)
    pid, eid, rid = ids["project_id"], ids["experiment_id"], ids["run_id"]
    unknown = "00000000-0000-0000-0000-000000000000"
    names = ["", "   ", "../x", "a/../../b", "a\x00b", "a\x01b", "line\nbreak", "tab\tname", "x" * 251, ".hidden"]
    cases: list[tuple] = []
    for name in names:
        cases.append(("POST", "/api/v1/projects", {"name": name, "team": "ml-team"}, 400, r"name"))
        cases.append(("POST", "/api/v1/experiments", {"project_id": pid, "name": name}, 400, r"name"))
        cases.append(("PATCH", f"/api/v1/experiments/{eid}", {"name": name}, 400, r"name"))
        cases.append(("PATCH", f"/api/v1/runs/{rid}", {"name": name}, 400, r"name"))
        if name.strip():
            cases.append(("POST", f"/api/v1/experiments/{eid}/runs", {"name": name}, 400, r"name"))
            cases.append(("POST", "/api/v1/projects", {"name": "ok", "team": "ml-team", "tags": [name]}, 400, r"tags.*"))
            cases.append(("POST", "/api/v1/projects", {"name": "ok", "team": name}, 400, r"team"))
    long_key = "k" * 251
    cases += [
        ("POST", "/api/v1/projects", {"name": 5}, 400, r"name"),
        ("POST", "/api/v1/projects", {"name": "ok", "tags": "x"}, 400, r"tags"),
        ("POST", "/api/v1/projects", {"name": "ok", "description": 5}, 400, r"description"),
        ("POST", "/api/v1/projects", {"name": "ok", "team": "ml-team", "owner": "me"}, 400, r"owner"),
        ("POST", "/api/v1/projects", {"description": "no name"}, 400, r"name"),
        ("POST", "/api/v1/experiments", {"project_id": unknown, "name": "e2"}, 404, r"project_id"),
        ("POST", "/api/v1/experiments", {"project_id": "nope", "name": "e2"}, 404, r"project_id"),
        ("POST", "/api/v1/experiments", {"project_id": 5, "name": "e2"}, 400, r"project_id"),
        ("POST", "/api/v1/experiments", {"project_id": pid, "name": "e2", "tags": "x"}, 400, r"tags"),
        ("POST", "/api/v1/experiments", {"project_id": pid, "name": "e2", "validation_criteria": {"a": 1}}, 400,
         r"validation_criteria\.a"),
        ("POST", f"/api/v1/experiments/{unknown}/runs", {}, 404, r"experiment_id"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"tags": "x"}, 400, r"tags"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"parameters": "x"}, 400, r"parameters"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"parameters": {long_key: 1}}, 400, r"parameters.*"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"parameters": {"a": "x" * 6001}}, 400, r"parameters\.a"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"tags": {long_key: "v"}}, 400, r"tags.*"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"environment": []}, 400, r"environment"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"status": "DONE"}, 400, r"status"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"start_time": "soon"}, 400, r"start_time"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"start_time": 2**53 - 1}, 400, r"start_time"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"start_time": "9999-12-31T23:59:59-12:00"}, 400, r"start_time"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"parent_run_id": 5}, 400, r"parent_run_id"),
        ("POST", f"/api/v1/experiments/{eid}/runs", {"parent_run_id": unknown}, 404, r"parent_run_id"),
        ("PATCH", f"/api/v1/runs/{unknown}", {"notes": "x"}, 404, r"run_id"),
        ("PATCH", f"/api/v1/runs/{rid}", {"status": "DONE"}, 400, r"status"),
        ("PATCH", f"/api/v1/runs/{rid}", {"status": "FINISHED", "end_time": "garbage"}, 400, r"end_time"),
        ("PATCH", f"/api/v1/runs/{rid}", {"notes": 5}, 400, r"notes"),
        ("PATCH", f"/api/v1/runs/{rid}", {"tags": "x"}, 400, r"tags"),
        ("PATCH", f"/api/v1/runs/{rid}", {"tags": {"a": 1}}, 400, r"tags\.a"),
        ("PATCH", f"/api/v1/runs/{rid}", {"locked": "yes"}, 400, r"locked"),
        ("PATCH", f"/api/v1/runs/{rid}", {"notes": "x", "tags": {long_key: "v"}}, 400, r"tags.*"),
        ("PATCH", f"/api/v1/runs/{rid}", ("raw", b'{"parameters": {"p": [1, NaN]}}', JSON), 400, r"parameters\.p.*"),
        ("PATCH", f"/api/v1/runs/{rid}", ("raw", b'{"notes": "a", "notes": "b"}', JSON), 400, r"notes"),
        ("PATCH", f"/api/v1/runs/{rid}", {"notes": "a\x00b"}, 400, r"notes"),
        ("PATCH", f"/api/v1/projects/{pid}", {"tags": "x"}, 400, r"tags"),
        ("PATCH", f"/api/v1/projects/{unknown}", {"description": "x"}, 404, r"project_id"),
        ("POST", f"/api/v1/projects/{pid}/shares", {"team": "ml-team", "role": "owner"}, 400, r"role"),
        ("POST", f"/api/v1/projects/{pid}/shares", {"team": "no-such-team", "role": "viewer"}, 404, r"team"),
        ("POST", f"/api/v1/runs/{unknown}/metrics", {"metrics": {"a": 1.0}}, 404, r"run_id"),
        ("POST", f"/api/v1/runs/{unknown}/artifacts", {"name": "a", "path": "s3://b/a"}, 404, r"run_id"),
        ("POST", f"/api/v1/runs/{rid}/artifacts", {"name": "a", "path": "s3://b/a", "size_bytes": 2**63}, 400,
         r"size_bytes"),
        ("POST", f"/api/v1/runs/{rid}/artifacts", {"name": "a", "path": "s3://b/a", "bogus": 1}, 400, r"bogus"),
        ("POST", f"/api/v1/runs/{rid}/artifacts", ("raw", b"", None), 400, None),
    ]
    _check_rejected(admin, core, ids, cases)
    for url in (f"/api/v1/projects/{unknown}", f"/api/v1/experiments/{unknown}", f"/api/v1/runs/{unknown}",
                f"/api/v1/runs/{unknown}/metrics", f"/api/v1/runs/{unknown}/metrics/a",
                f"/api/v1/runs/{unknown}/artifacts", f"/api/v1/runs/{rid}/artifacts/{unknown}/content",
                f"/api/v1/experiments/{unknown}/runs", f"/api/v1/experiments?project_id={unknown}"):
        response = admin.get(url)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found", url


def test_forged_cursors_are_refused(admin) -> None:
    rid = seed(admin)["run_id"]
    ok(admin.post(f"/api/v1/runs/{rid}/metrics", json={"metrics": {"loss": 1.0}}), 201)

    def cursor(state: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")

    junk = ["%%%", "e30x", cursor([1]), cursor("o")]
    offsets = [cursor({"o": 10**30}), cursor({"o": -1}), cursor({"o": True}), cursor({"o": "1"})]
    keysets = [cursor({"s": 10**30, "t": 1}), cursor({"s": True, "t": 1}), cursor({"s": 1, "t": None})]
    for url, forged in (("/api/v1/projects", offsets), (f"/api/v1/runs/{rid}/artifacts", offsets),
                        (f"/api/v1/runs/{rid}/metrics/loss", keysets)):
        for value in junk + forged:
            response = admin.get(f"{url}?cursor={value}")
            assert response.status_code == 400, (url, value, response.get_data(as_text=True))
            assert response.get_json()["error"]["field"] == "cursor"


def test_body_over_the_size_limit_is_413(admin, core) -> None:
    ids = seed(admin)
    limit = core.settings.max_request_bytes
    rid = ids["run_id"]
    filler = {"metrics": {"a": 1.0}, "step": 1, "pad": ""}
    body = json.dumps(filler).replace('"pad": ""', '"pad": "' + "x" * limit + '"').encode()
    assert len(body) > limit
    cases = [("POST", f"/api/v1/runs/{rid}/metrics", ("raw", body, JSON), 413, None),
             ("PATCH", f"/api/v1/runs/{rid}", ("raw", body, JSON), 413, None)]
    _check_rejected(admin, core, ids, cases)
    del body
    upload = admin.post(f"/api/v1/runs/{rid}/artifacts", content_type="multipart/form-data",
                        data={"file": (io.BytesIO(b"\0" * (limit + 1)), "big.bin")})
    assert upload.status_code == 413 and upload.get_json()["error"]["code"]
    assert "MAX_REQUEST_BYTES" in upload.get_json()["error"]["message"]
    assert ok(admin.get(f"/api/v1/runs/{rid}/artifacts"))["total"] == 0


def test_unknown_api_urls_answer_json_404(admin, client) -> None:
    for method, url in (("GET", "/api/v1/nope"), ("GET", "/api/"), ("POST", "/api/v1/runs/x/nope"),
                        ("DELETE", "/api/v2/anything"), ("GET", "/api/v1/projects/x/y/z")):
        response = getattr(admin, method.lower())(url)
        assert response.status_code == 404 and response.mimetype == JSON, url
        assert response.get_json()["error"]["code"] == "not_found"
    wrong_method = admin.client.put("/api/v1/projects", json={}, headers=admin._headers())
    assert wrong_method.status_code in (404, 405) and wrong_method.get_json()["error"]["code"]
    assert client.get("/api/v1/nope").mimetype == JSON


# ---- the sweep: garbage over every write endpoint (and junk ids / queries over every read) -------------------

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
GARBAGE_VALUES: list[Any] = [None, "", "\x00", "../x", "x" * 3000, 10**30, 2**64, -1, 1.5, True, [], {},
                             {"\x00": 1}, {"k" * 300: 1}, {"k": {"k": [1, {"k": None}]}}, "NaN", "2024-99-99T99:99:99Z"]
NESTED_GARBAGE: list[Any] = [None, "\x00", "x" * 7000, 10**30, 2**64, 1.5, True, [], {}, "NaN"]
GARBAGE_RAW: list[tuple[bytes, str | None]] = [
    (b"", None), (b"", JSON), (b"null", JSON), (b"[]", JSON), (b"0", JSON), (b'"x"', JSON),
    (b'"{\\"name\\": \\"x\\", \\"name\\": NaN}"', JSON), (b"{", JSON), (b'{"a":}', JSON), (b"\xff\xfe\x00", JSON),
    (b"[" * 50_000, JSON), (b'{"a":' * 20_000, JSON), (b'{"name": NaN}', JSON), (b'{"x": 1, "x": 2}', JSON),
    (b'{"x": 1e999}', JSON), (b'{"x": "\\u0000"}', JSON), (b'{"x": 1' + b"0" * 5000 + b"}", JSON),
    (b"name=x", "application/x-www-form-urlencoded"), (b'{"name": "x"}', "text/plain"),
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxx\r\n--", "multipart/form-data; boundary=b"),
    (b"junk", "multipart/form-data"), (b"<a/>", "application/xml"),
]


def _base_bodies(ids: dict[str, str]) -> dict[str, list[dict]]:
    """A valid body per write route, so the sweep can spoil one field at a time."""
    return {
        "/api/v1/projects": [{"name": "p-sweep", "description": "", "team": "ml-team", "tags": ["a"]}],
        "/api/v1/projects/<project_id>": [{"description": "d", "tags": ["a"]}],
        "/api/v1/projects/<project_id>/shares": [{"team": "ml-team", "role": "viewer"}],
        "/api/v1/experiments": [{"project_id": ids["project_id"], "name": "e-sweep", "description": "",
                                 "hypothesis": "", "tags": ["t"], "type": "classification", "domain": "healthcare",
                                 "template_id": "t", "metrics": ["accuracy"],
                                 "validation_criteria": {"accuracy": ">= 0.95"},
                                 "model_registry_integration": {"auto_register": True}}],
        "/api/v1/experiments/<experiment_id>": [{"name": "e-sweep2", "description": "d", "hypothesis": "h",
                                                 "status": "active", "tags": ["t"],
                                                 "validation_criteria": {"accuracy": ">= 0.9"}}],
        "/api/v1/experiments/<experiment_id>/runs": [{
            "name": "r", "parameters": {"a": 1}, "environment": {"python_version": "3.11"},
            "parent_run_id": ids["run_id"], "tags": {"a": "b"}, "git_commit": "abc",
            "start_time": "2024-01-15T10:30:00Z", "status": "RUNNING"}],
        "/api/v1/runs/<run_id>": [{"name": "r2", "notes": "n", "tags": {"a": "b"}, "parameters": {"zz": 1},
                                   "status": "RUNNING", "end_time": None, "locked": False}],
        "/api/v1/runs/<run_id>/metrics": [{"metrics": {"a": 1.0}, "step": 1, "timestamp": "2024-01-15T10:30:00Z"},
                                          {"steps": [{"metrics": {"a": 1.0}, "step": 2, "timestamp": 1705314000000}]}],
        "/api/v1/runs/<run_id>/artifacts": [{"name": "m.pkl", "path": "s3://b/m.pkl", "type": "model",
                                             "size_bytes": 1, "metadata": {"k": "v"}}],
        "/api/v1/auth/token": [{"username": "admin", "password": PASSWORD, "name": "t"}],
    }


def _spoiled(body: dict) -> list[Any]:
    """The body with each field (and each nested value one level down) replaced by each garbage value."""
    out: list[Any] = []
    for field, value in body.items():
        for junk in GARBAGE_VALUES:
            out.append({**body, field: junk})
        if isinstance(value, dict):
            inner = next(iter(value), "k")
            out += [{**body, field: {**value, inner: junk}} for junk in NESTED_GARBAGE]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for key in value[0]:
                out += [{**body, field: [{**value[0], key: junk}]} for junk in NESTED_GARBAGE]
    return out


def _routes(server, methods: set[str]) -> list[tuple[str, str]]:
    found = []
    for rule in server.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            found += [(m, rule.rule) for m in sorted((rule.methods or set()) & methods)]
    return sorted(set(found))


def _fill(rule: str, ids: dict[str, str], junk: str | None = None) -> str:
    return _PARAM.sub(lambda m: junk if junk is not None else ids.get(m.group(1), "loss"), rule)


def test_garbage_never_causes_a_server_error(admin, backend) -> None:
    ids = seed(admin)
    ok(admin.post(f"/api/v1/runs/{ids['run_id']}/metrics", json={"metrics": {"loss": 1.0}}), 201)
    art = ok(admin.post(f"/api/v1/runs/{ids['run_id']}/artifacts",
                        data={"file": (io.BytesIO(b"abc"), "a.txt")}, content_type="multipart/form-data"), 201)
    token = ok(admin.get("/api/v1/tokens"))["items"][0]
    ids = {**ids, "artifact_id": art["id"], "token_id": token["id"], "key": "loss"}
    bases = _base_bodies(ids)
    failures: list[str] = []

    def check(method: str, url: str, body: Any) -> None:
        response = _send(admin, method, url, body)
        good = response.status_code < 500
        if good and response.status_code >= 400:
            error = _error(response)
            good = bool(error.get("code")) and bool(error.get("message"))
        if not good:
            failures.append(f"{method} {url} {str(body)[:100]!r} -> {response.status_code} "
                            f"{response.get_data(as_text=True)[:160]}")

    writes = _routes(backend.server, {"POST", "PATCH", "PUT"})
    assert len(writes) >= 10, writes
    for method, rule in writes:
        url = _fill(rule, ids)
        for data, content_type in GARBAGE_RAW:
            check(method, url, ("raw", data, content_type))
        for base in bases.get(rule, [{}]):
            for body in _spoiled(base):
                check(method, url, body)
    junk_ids = ["%00", "x" * 300, "..%2F..%FF"]
    queries = ["limit=-1&buckets=-5", "limit=99999999999999999999999", "cursor=%00", "cursor=" + "A" * 5000,
               "team=%00&tag=%00&project_id=%00&status=%00&parent_run_id=%00&metric=%00", "buckets=1e3&limit=1&limit=2",
               "cursor=eyJzIjoiYSIsInQiOjF9", "cursor=eyJvIjoxZTk5OX0"]
    for method, rule in _routes(backend.server, {"GET", "POST", "PATCH", "DELETE"}):
        if "<" in rule:
            for junk in junk_ids:
                check(method, _fill(rule, ids, junk), bases.get(rule, [{}])[0] if method != "GET" else None)
        if method == "GET":
            for query in queries:
                check(method, f"{_fill(rule, ids)}?{query}", None)
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:40])
