"""Metrics over /api/v1: single and batch logging, summaries, paged history and downsampled buckets."""
from __future__ import annotations

import math

from tests.api.test_projects import ok, seed

SEED_METRICS = {"metrics": {"accuracy": 0.952, "f1_score": 0.934, "precision": 0.945, "recall": 0.924,
                            "training_loss": 0.234}, "step": 100, "timestamp": "2024-01-15T10:30:00Z"}


def _summaries(api, run_id: str) -> dict[str, dict]:
    body = ok(api.get(f"/api/v1/runs/{run_id}/metrics"))
    assert body["run_id"] == run_id
    return {m["key"]: m for m in body["metrics"]}


def test_single_and_batch_forms_and_summaries(admin) -> None:
    rid = seed(admin)["run_id"]
    url = f"/api/v1/runs/{rid}/metrics"
    assert ok(admin.post(url, json=SEED_METRICS), 201) == {"run_id": rid, "accepted": 5}
    batch = {"steps": [{"metrics": {"accuracy": 0.97, "training_loss": 0.1}, "step": 300,
                        "timestamp": "2024-01-15T10:40:00Z"},
                       {"metrics": {"accuracy": 0.90, "training_loss": 0.5}, "step": 200,
                        "timestamp": "2024-01-15T10:50:00Z"},
                       {"metrics": {"accuracy": 0.80}, "step": 50, "timestamp": 1705314000000}]}
    assert ok(admin.post(url, json=batch), 201)["accepted"] == 5
    # A later request with an earlier step must not become "last".
    ok(admin.post(url, json={"metrics": {"accuracy": 0.5}, "step": 10}), 201)

    s = _summaries(admin, rid)
    assert set(s) == {"accuracy", "f1_score", "precision", "recall", "training_loss"}
    acc = s["accuracy"]
    assert (acc["last"], acc["last_step"], acc["count"]) == (0.97, 300, 5)
    assert (acc["min"], acc["min_step"], acc["max"], acc["max_step"]) == (0.5, 10, 0.97, 300)
    assert acc["last_timestamp"] == "2024-01-15T10:40:00Z"
    loss = s["training_loss"]
    assert (loss["last"], loss["min"], loss["max"], loss["count"]) == (0.1, 0.1, 0.5, 3)
    assert s["f1_score"] == {**s["f1_score"], "last": 0.934, "min": 0.934, "max": 0.934, "count": 1,
                             "last_step": 100}
    run = ok(admin.get(f"/api/v1/runs/{rid}"))
    assert run["metrics"]["accuracy"]["last"] == 0.97

    history = ok(admin.get(f"{url}/accuracy"))
    assert [p["step"] for p in history["items"]] == [10, 50, 100, 200, 300]
    assert [p["value"] for p in history["items"]] == [0.5, 0.8, 0.952, 0.9, 0.97]
    assert history["items"][2]["timestamp"] == "2024-01-15T10:30:00Z" and history["total"] == 5
    missing = admin.get(f"{url}/no-such-metric")
    assert missing.status_code == 404 and missing.get_json()["error"]["field"] == "key"


def test_history_pages_walk_every_point_once(admin) -> None:
    rid = seed(admin)["run_id"]
    url = f"/api/v1/runs/{rid}/metrics"
    steps = [{"metrics": {"loss": 1.0 / (i + 1), "nested/key.name": float(i)}, "step": i} for i in range(1, 501)]
    ok(admin.post(url, json={"steps": steps}), 201)
    # the same step again at another time is a new point, not a duplicate
    ok(admin.post(url, json={"metrics": {"loss": 7.0}, "step": 500, "timestamp": "2100-01-01T00:00:00Z"}), 201)

    seen, cursor, pages = [], None, 0
    while True:
        page = ok(admin.get(f"{url}/loss?limit=64" + (f"&cursor={cursor}" if cursor else "")))
        assert len(page["items"]) <= 64 and page["total"] == 501
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == math.ceil(501 / 64) and len(seen) == 501
    assert [(p["step"], p["timestamp"]) for p in seen] == sorted({(p["step"], p["timestamp"]) for p in seen})
    assert seen[-1]["value"] == 7.0 and _summaries(admin, rid)["loss"]["last"] == 7.0
    nested = ok(admin.get(f"{url}/nested/key.name?limit=25000"))
    assert nested["total"] == 500 and nested["next_cursor"] is None and nested["items"][-1]["value"] == 500.0


def test_buckets_keep_spikes_and_the_last_value(admin) -> None:
    rid = seed(admin)["run_id"]
    url = f"/api/v1/runs/{rid}/metrics"
    n = 2000
    values = {i: math.sin(i / 50.0) for i in range(n)}
    values[1234] = 1000.0
    values[777] = -1000.0
    ok(admin.post(url, json={"steps": [{"metrics": {"loss": v}, "step": i} for i, v in values.items()]}), 201)
    for buckets in (1, 7, 100, 1000, 5000):
        body = ok(admin.get(f"{url}/loss?buckets={buckets}"))
        rows = body["buckets"]
        assert 1 <= len(rows) <= buckets and body["count"] == n
        assert sum(r["count"] for r in rows) == n
        assert max(r["max"] for r in rows) == 1000.0 and min(r["min"] for r in rows) == -1000.0
        assert rows[-1]["last"] == values[n - 1] and rows[-1]["step_end"] == n - 1
        assert rows[0]["step_start"] == 0
        starts = [r["step_start"] for r in rows]
        assert starts == sorted(starts) and all(r["step_start"] <= r["step_end"] for r in rows)
    spiky = [r for r in ok(admin.get(f"{url}/loss?buckets=10"))["buckets"] if r["max"] == 1000.0]
    assert len(spiky) == 1 and spiky[0]["step_start"] <= 1234 <= spiky[0]["step_end"]
    for bad in ("buckets=0", "buckets=10001", "buckets=x"):
        response = admin.get(f"{url}/loss?{bad}")
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "buckets"


def test_replayed_point_conflicts_and_writes_nothing(admin) -> None:
    rid = seed(admin)["run_id"]
    url = f"/api/v1/runs/{rid}/metrics"
    ok(admin.post(url, json=SEED_METRICS), 201)
    again = admin.post(url, json={"steps": [{"metrics": {"fresh": 1.0}, "step": 1},
                                            {**SEED_METRICS, "metrics": {"accuracy": 0.1}}]})
    assert again.status_code == 409, again.get_data(as_text=True)
    assert again.get_json()["error"]["field"] == "metrics"
    s = _summaries(admin, rid)
    assert "fresh" not in s and s["accuracy"]["count"] == 1 and s["accuracy"]["last"] == 0.952
    # the connection is still healthy after the conflict
    ok(admin.post(url, json={"metrics": {"fresh": 2.0}, "step": 2}), 201)
    assert _summaries(admin, rid)["fresh"]["count"] == 1


def test_metric_logging_is_audited(admin, core) -> None:
    from sqlalchemy import select

    from db.models import AuditEvent

    rid = seed(admin)["run_id"]
    ok(admin.post(f"/api/v1/runs/{rid}/metrics", json=SEED_METRICS), 201)
    with core.sessions() as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.after).where(
            AuditEvent.entity_id == rid, AuditEvent.action == "metrics.log")).all()
    assert [(a, after["points"]) for a, after in rows] == [("metrics.log", 5)]
