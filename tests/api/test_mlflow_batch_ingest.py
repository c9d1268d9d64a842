"""MLflow log-batch on both backends: settling within a batch and against stored points, odd values and
extreme steps stored exactly (binary COPY on Postgres), summaries with NaN."""
from __future__ import annotations

import math

from services.context import Core
from tests.conftest import Api

API = "/api/2.0/mlflow"


def _run(api: Api) -> str:
    exp = api.post(f"{API}/experiments/create", json={"name": "ingest"}).get_json()["experiment_id"]
    return api.post(f"{API}/runs/create", json={"experiment_id": exp}).get_json()["run"]["info"]["run_id"]


def _batch(api: Api, run_id: str, metrics: list[dict]) -> None:
    response = api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    assert response.status_code == 200, response.get_json()


def _history(api: Api, run_id: str, key: str) -> list[tuple]:
    body = api.get(f"{API}/metrics/get-history?run_id={run_id}&metric_key={key}").get_json()
    return [(m["step"], m["timestamp"], m["value"]) for m in body.get("metrics", [])]


def _m(key: str, value: object, step: int, ts: int) -> dict:
    return {"key": key, "value": value, "step": step, "timestamp": ts}


def test_settling_inside_one_batch_and_against_stored_points(admin: Api) -> None:
    rid = _run(admin)
    _batch(admin, rid, [_m("a", 1.0, 0, 10), _m("a", 1.0, 0, 10), _m("a", 2.0, 0, 10), _m("b", 5.0, 1, 10)])
    assert _history(admin, rid, "a") == [(0, 10, 1.0), (0, 11, 2.0)]  # a replay dropped, a collision moved
    _batch(admin, rid, [_m("a", 1.0, 0, 10), _m("a", 3.0, 0, 10), _m("b", 6.0, 2, 10)])  # replay + collision
    assert _history(admin, rid, "a") == [(0, 10, 1.0), (0, 11, 2.0), (0, 12, 3.0)]
    assert _history(admin, rid, "b") == [(1, 10, 5.0), (2, 10, 6.0)]
    steps = [_m("c", s * 0.5, s, 100 + s) for s in range(50)]
    for _ in range(2):  # an append-only batch, then the same batch again (a client retry)
        _batch(admin, rid, steps)
    assert _history(admin, rid, "c") == [(s, 100 + s, s * 0.5) for s in range(50)]


def test_odd_values_and_extreme_steps_are_stored_exactly(admin: Api, core: Core) -> None:
    rid = _run(admin)
    values = ["NaN", "Infinity", "-Infinity", -0.0, 1e308, 5e-324, -2.5, 1, 0.1]
    _batch(admin, rid, [_m("v", value, step, 5) for step, value in enumerate(values)])
    got = _history(admin, rid, "v")
    assert [v for _, _, v in got[:3]] == ["NaN", "Infinity", "-Infinity"]
    assert [v for _, _, v in got[3:]] == [-0.0, 1e308, 5e-324, -2.5, 1.0, 0.1]
    if core.sessions.kw["bind"].dialect.name == "postgresql":  # SQLite keeps no sign on zero
        assert math.copysign(1.0, got[3][2]) == -1.0
    big = 2**53 + 1  # past a double's integers: no float formatting on the way
    _batch(admin, rid, [_m("x", 1.5, -big, 0), _m("x", 2.5, big, 2**41), _m("x", 3.5, "7", "8")])
    assert _history(admin, rid, "x") == [(-big, 0, 1.5), (7, 8, 3.5), (big, 2**41, 2.5)]


def test_summaries_skip_nan_and_keep_the_first_extreme(admin: Api) -> None:
    rid = _run(admin)
    _batch(admin, rid, [_m("s", "NaN", 0, 1), _m("s", 2.0, 1, 1), _m("s", 2.0, 2, 1), _m("s", -1.0, 3, 1),
                        _m("s", -1.0, 4, 1), _m("s", "NaN", 5, 1), _m("n", "NaN", 0, 1)])
    summary = {m["key"]: m for m in admin.get(f"/api/v1/runs/{rid}/metrics").get_json()["metrics"]}
    s = summary["s"]
    assert (s["count"], s["min"], s["min_step"], s["max"], s["max_step"]) == (6, -1.0, 3, 2.0, 1)
    assert (s["last"], s["last_step"]) == (None, 5)  # NaN goes out as null
    assert (summary["n"]["count"], summary["n"]["min"], summary["n"]["max"]) == (1, None, None)


def test_bad_metrics_in_a_batch_write_nothing(admin: Api) -> None:
    rid = _run(admin)
    for bad, word in ((_m("k", "x", 1, 1), "value"), (_m("k", 1.0, 1, -1), "timestamp"), (_m("", 1.0, 1, 1), "key"),
                      (_m("k", 1.0, 1.5, 1), "step"), (_m("k", True, 1, 1), "value")):
        response = admin.post(f"{API}/runs/log-batch", json={"run_id": rid, "metrics": [_m("k", 1.0, 0, 1), bad]})
        assert response.status_code == 400 and word in response.get_json()["message"], response.get_json()
    assert _history(admin, rid, "k") == []


def test_a_timestamp_past_the_year_9999_is_refused_and_writes_nothing(admin: Api) -> None:
    """Such a time cannot be written as ISO 8601 (the v1 API, live events): a clear 400 before anything is stored,
    never a 500 after the commit."""
    rid = _run(admin)
    far = 2**53
    batch = admin.post(f"{API}/runs/log-batch", json={"run_id": rid, "metrics": [_m("ok", 1.0, 0, 5),
                                                                                 _m("far", 1.0, 1, far)]})
    one = admin.post(f"{API}/runs/log-metric", json={"run_id": rid, "key": "far", "value": 1.0, "timestamp": far})
    for response in (batch, one):
        assert response.status_code == 400 and response.get_json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "timestamp" in response.get_json()["message"]
    assert _history(admin, rid, "ok") == [] and _history(admin, rid, "far") == []
    _batch(admin, rid, [_m("edge", 1.0, 2**63 - 1, 253_402_300_799_999)])  # the last step and instant still fit
    assert _history(admin, rid, "edge") == [(2**63 - 1, 253_402_300_799_999, 1.0)]
