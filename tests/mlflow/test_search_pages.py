"""runs/search pages: the JSON Postgres builds in SQL equals wire_runs' dicts, and paging over HTTP on both backends."""
from __future__ import annotations

import json
import math
from typing import Any

import pytest
import requests
from sqlalchemy import insert, select, text, update

from db.models import MetricSeries, Param, Run, RunTag
from services import accounts
from services.context import Actor
from services.mlflow_search import run_select
from services import mlflow_search_json
from services.mlflow_search_json import page_json_select, page_params, run_search, search_runs, search_runs_json
from services.mlflow_store import wire_runs
from tests.conftest import PASSWORD
from tests.mlflow.conftest import USER, Server, unique

API = "/api/2.0/mlflow"
# codepoint order differs from a locale's order for these (case, accents, punctuation, digits, astral plane)
ODD_KEYS = ["b", "B", "a", "A", "é", "e", "Z", "_x", "-y", "10", "9", "ß", "ss", "日本", "😀", "a b", "a.b"]
VALUES = [0.5, 1.0, -0.0, 1e-300, 1.7976931348623157e308, 123456789.123456789, 0.1 + 0.2, -3.0]


def post(server: Server, path: str, body: dict) -> dict:
    response = requests.post(server.url + API + path, json=body, timeout=30,
                             headers={"Authorization": f"Bearer {server.token}"})
    assert response.status_code == 200, response.text
    return response.json()


def new_run(server: Server, experiment_id: str, name: str, start: int, **extra: Any) -> str:
    body = {"experiment_id": experiment_id, "run_name": name, "start_time": start, **extra}
    return post(server, "/runs/create", body)["run"]["info"]["run_id"]


def series(pk: int, key: str, value: float | None, count: int = 1, step: int = 3) -> dict:
    return {"run_pk": pk, "key": key, "count": count, "last_value": value, "last_step": step, "last_ts": 1700 + step,
            "min_value": value, "min_step": 0, "max_value": value, "max_step": 0}


def seed_edges(server: Server) -> str:
    """An experiment whose runs cover every rule of wire_runs (see the comments)."""
    exp = post(server, "/experiments/create", {"name": unique("pages")})["experiment_id"]
    plain = new_run(server, exp, "plain", 1000)  # nothing logged: no metrics/params keys
    specials = new_run(server, exp, "specials", 2000)
    parent = new_run(server, exp, "parent", 3000)
    child = new_run(server, exp, "child", 4000, tags=[{"key": "mlflow.parentRunId", "value": parent}])
    renamed = new_run(server, exp, "renamed", 5000)
    orphan = new_run(server, exp, "no-owner", 6000)
    gone = new_run(server, exp, "gone-owner", 7000)
    deleted = new_run(server, exp, "deleted", 8000)
    post(server, "/runs/update", {"run_id": plain, "status": "FINISHED", "end_time": 1500})
    post(server, "/runs/delete", {"run_id": deleted})
    post(server, "/runs/log-batch", {"run_id": child, "params": [{"key": "lr", "value": "0.01"}],
                                     "metrics": [{"key": "acc", "value": 0.75, "timestamp": 5, "step": 1}],
                                     "tags": [{"key": "mlflow.user", "value": "someone-else"}]})
    with server.core.sessions.begin() as session:
        pks = dict(session.execute(select(Run.id, Run.pk).where(Run.experiment_id == exp)).all())
        pk = pks[specials]
        values = [math.nan, math.inf, -math.inf, None, *VALUES]
        session.execute(insert(MetricSeries), [series(pk, f"m{i}", v, step=i) for i, v in enumerate(values)]
                        + [series(pk, f"k{key}", 1.5) for key in ODD_KEYS] + [series(pk, "empty", None, count=0)])
        session.execute(insert(Param), [{"run_pk": pk, "key": key, "value": f"v\"{key}\\\n\t\x01"}
                                        for key in ODD_KEYS])
        session.execute(insert(RunTag), [{"run_pk": pk, "key": f"t{key}", "value": key * 3} for key in ODD_KEYS]
                        + [{"run_pk": pks[renamed], "key": "mlflow.runName", "value": "its own tag"},
                           {"run_pk": pks[gone], "key": "note", "value": ""}])
        session.execute(update(Run).where(Run.pk == pks[orphan]).values(user_id=None))
        session.execute(update(Run).where(Run.pk == pks[gone]).values(user_id="no-such-user", end_time=0))
        session.execute(update(Run).where(Run.pk == pks[specials]).values(name="spé\"cial 😀"))
    return exp


def alice(server: Server) -> Actor:
    return accounts.authenticate(server.core, USER, PASSWORD)


def locale_keys(session: Any) -> None:
    """Give the key columns a locale collation for this transaction only (DDL rolls back with it), so a sort
    that forgot to ask for codepoint order would differ from Python's."""
    for table in ("params", "run_tags", "metric_series"):
        session.execute(text(f'ALTER TABLE {table} ALTER COLUMN key TYPE varchar(250) COLLATE "und-x-icu"'))


def sql_page_and_python_page(server: Server, exp: str, **kw: Any) -> tuple[list, bool, list, bool]:
    search = run_search(server.core, alice(server), [exp], **kw)
    with server.core.sessions() as session:
        locale_keys(session)
        stmt, ordering = run_select(search, alice(server), "postgresql")
        body, more = session.execute(page_json_select(stmt, ordering), page_params(search.offset, search.limit)).one()
        rows = session.execute(stmt.order_by(*ordering).offset(search.offset).limit(search.limit + 1)).all()
        expected = wire_runs(session, rows[:search.limit])
    return json.loads(body), more, expected, len(rows) > search.limit


def same(got: Any, expected: Any) -> bool:
    """Equal, with floats compared by value and type (1.0 may come back as the JSON number 1)."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and got.keys() == expected.keys() and all(
            same(got[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(same, got, expected))
    if isinstance(expected, float):
        return isinstance(got, (int, float)) and not isinstance(got, bool) and float(got) == expected
    return type(got) is type(expected) and got == expected


@pytest.mark.parametrize("kw", [
    {"run_view_type": "ALL"},
    {"run_view_type": "ALL", "max_results": 3},
    {"run_view_type": "ALL", "max_results": 3, "page_token": "eyJvZmZzZXQiOiA2fQ=="},  # offset 6: last page
    {"run_view_type": "ACTIVE_ONLY", "order_by": ["metrics.acc DESC", "params.lr"]},
    {"run_view_type": "ALL", "order_by": ["attributes.run_name DESC"], "max_results": 5,
     "page_token": "eyJvZmZzZXQiOiAyfQ=="},  # offset 2: a middle page keeps the order (top-N, numbered above it)
    {"run_view_type": "DELETED_ONLY"},
    {"filter_string": "params.lr = '0.01'"},
    {"filter_string": "params.lr = 'none'"},
    {"max_results": 2, "page_token": "eyJvZmZzZXQiOiA5OX0="},  # offset 99: past the end
])
def test_sql_built_page_equals_wire_runs(postgres_server: Server, kw: dict) -> None:
    exp = seed_edges(postgres_server)
    got, more, expected, expected_more = sql_page_and_python_page(postgres_server, exp, **kw)
    assert more == expected_more
    assert same(got, expected), json.dumps([got, expected], indent=1, default=str)[:4000]


def test_sql_page_covers_the_edges(postgres_server: Server) -> None:
    exp = seed_edges(postgres_server)
    got, _, _, _ = sql_page_and_python_page(postgres_server, exp, run_view_type="ALL")
    runs = {r["info"]["run_name"]: r for r in got}
    assert len(runs) == 8 and runs["deleted"]["info"]["lifecycle_stage"] == "deleted"
    assert "metrics" not in runs["plain"]["data"] and "params" not in runs["plain"]["data"]
    assert runs["plain"]["info"]["end_time"] == 1500 and "end_time" not in runs["parent"]["info"]
    special = runs["spé\"cial 😀"]["data"]
    values = {m["key"]: m["value"] for m in special["metrics"]}
    assert [values[f"m{i}"] for i in range(4)] == ["NaN", "Infinity", "-Infinity", "NaN"] and "empty" not in values
    assert [p["key"] for p in special["params"]] == sorted(ODD_KEYS)
    tags = {r["info"]["run_name"]: {t["key"]: t["value"] for t in r["data"]["tags"]} for r in got}
    assert tags["child"]["mlflow.parentRunId"] == runs["parent"]["info"]["run_id"]
    assert tags["child"]["mlflow.user"] == "someone-else" and tags["parent"]["mlflow.user"] == USER
    assert tags["renamed"]["mlflow.runName"] == "its own tag"
    assert "user_id" not in runs["no-owner"]["info"] and "mlflow.user" not in tags["no-owner"]
    assert "user_id" not in runs["gone-owner"]["info"] and runs["gone-owner"]["info"]["end_time"] == 0


def test_paging_over_http(any_server: Server) -> None:
    """Pages and tokens through the endpoint on both backends; each page equals the Python-built dicts."""
    exp = seed_edges(any_server)
    seen, token, pages = [], None, 0
    while True:
        body = {"experiment_ids": [exp], "max_results": 3, "run_view_type": "ALL",
                "order_by": ["attributes.start_time ASC"], **({"page_token": token} if token else {})}
        reply = post(any_server, "/runs/search", body)
        expected, expected_token = search_runs(any_server.core, alice(any_server), [exp], None, "ALL", 3,
                                               ["attributes.start_time ASC"], token)
        assert same(reply["runs"], expected) and reply.get("next_page_token") == expected_token
        seen += [r["info"]["run_name"] for r in reply["runs"]]
        pages, token = pages + 1, reply.get("next_page_token")
        if not token:
            break
    assert pages == 3 and seen == ["plain", "spé\"cial 😀", "parent", "child", "renamed", "no-owner", "gone-owner",
                                   "deleted"]
    assert post(any_server, "/runs/search", {"experiment_ids": [exp], "filter": "params.lr = 'x'"}) == {"runs": []}
    found = post(any_server, "/runs/search", {"experiment_ids": [exp], "filter": "metrics.acc > 0.5",
                                              "order_by": ["metrics.acc DESC"]})
    assert set(found) == {"runs"} and [r["info"]["run_name"] for r in found["runs"]] == ["child"]


def test_a_reused_page_statement_keeps_each_actor_and_filter_value_apart(postgres_server: Server) -> None:
    """Page statements are built once per search shape; another team's member asking the very same search sees
    nothing, and the same filter with another value finds other runs."""
    exp = seed_edges(postgres_server)
    core = postgres_server.core
    name = unique("outsider")
    accounts.create_user(core, None, name, PASSWORD)
    team = accounts.create_team(core, None, unique("other-team"))["name"]
    accounts.set_membership(core, None, team, name, "editor")
    outsider = accounts.authenticate(core, name, PASSWORD)
    for _ in range(2):
        mine, _ = search_runs_json(core, alice(postgres_server), [exp], "params.lr = '0.01'", "ALL", 5)
        theirs, _ = search_runs_json(core, outsider, [exp], "params.lr = '0.01'", "ALL", 5)
        other_value, _ = search_runs_json(core, alice(postgres_server), [exp], "params.lr = '0.02'", "ALL", 5)
        assert [r["info"]["run_name"] for r in json.loads(mine)] == ["child"]
        assert json.loads(theirs) == [] and json.loads(other_value) == []


@pytest.mark.parametrize("kw", [
    {"run_view_type": "ALL"},
    {"run_view_type": "ALL", "max_results": 3, "page_token": "eyJvZmZzZXQiOiAzfQ=="},  # offset 3: a middle page
    {"run_view_type": "ALL", "order_by": ["metrics.acc DESC", "attributes.run_name"]},
    {"filter_string": "params.lr = 'none'"},
])
def test_a_page_written_in_two_halves_equals_wire_runs(postgres_server: Server, monkeypatch: pytest.MonkeyPatch,
                                                       kw: dict) -> None:
    """Long pages are written by two connections (their pks first, then each half's JSON): same runs, same order,
    same token as the Python-built page."""
    monkeypatch.setattr(mlflow_search_json, "SPLIT_AT", 2)
    exp = seed_edges(postgres_server)
    got, token = search_runs_json(postgres_server.core, alice(postgres_server), [exp], **kw)
    expected, expected_token = search_runs(postgres_server.core, alice(postgres_server), [exp], **kw)
    assert token == expected_token and same(json.loads(got), expected), got[:3000]
