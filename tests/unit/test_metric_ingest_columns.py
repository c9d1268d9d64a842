"""The column-wise ingest helpers against their point-by-point definitions: make_points, batch summaries,
COPY data."""
from __future__ import annotations

import math
import random
import struct
from typing import Any

from db import metric_rows
from services.errors import Invalid
from services.metrics import Point, _batch_summaries
from services.mlflow_metrics import make_point, make_points


def _outcome(fn: Any) -> Any:
    try:
        return ("ok", [tuple(p) for p in fn()])
    except Invalid as exc:
        return ("invalid", str(exc), exc.field)


def test_make_points_is_make_point_for_each() -> None:
    rnd = random.Random(3)
    odd: list[tuple[str, Any]] = [("key", ""), ("key", "bad key!"), ("key", 5), ("value", 1), ("value", "NaN"),
                                  ("value", True), ("value", None), ("step", None), ("step", 1.0), ("step", "4"),
                                  ("step", 2**63), ("timestamp", -1), ("timestamp", 2**63), ("timestamp", "9")]
    for _ in range(400):
        metrics = [{"key": rnd.choice(["a", "b", "c/d"]), "value": rnd.random(), "step": rnd.randint(-5, 5),
                    "timestamp": rnd.randint(0, 9)} for _ in range(rnd.randint(0, 8))]
        if metrics and rnd.random() < 0.5:
            field, value = rnd.choice(odd)
            metrics[rnd.randrange(len(metrics))][field] = value
        if metrics and rnd.random() < 0.1:
            del metrics[rnd.randrange(len(metrics))]["step"]
        expected = _outcome(lambda: [make_point(m.get("key"), m.get("value"), m.get("timestamp"), m.get("step"))
                                     for m in metrics])
        assert _outcome(lambda: make_points(metrics)) == expected, metrics


def _reference_summaries(points: list[Point], series_ids: dict[str, int]) -> list[dict]:
    """The point-by-point definition."""
    acc: dict[str, dict] = {}
    for p in points:
        s = acc.get(p.key)
        if s is None:
            s = acc[p.key] = {"sid": series_ids[p.key], "n": 0, "bmin": None, "bmin_step": None, "bmax": None,
                              "bmax_step": None, "blast": p.value, "blast_step": p.step, "blast_ts": p.ts,
                              "bfirst_step": p.step}
        s["n"] += 1
        s["bfirst_step"] = min(s["bfirst_step"], p.step)
        if p.value != p.value:
            pass
        elif s["bmin"] is None:
            s["bmin"], s["bmin_step"], s["bmax"], s["bmax_step"] = p.value, p.step, p.value, p.step
        elif p.value < s["bmin"]:
            s["bmin"], s["bmin_step"] = p.value, p.step
        elif p.value > s["bmax"]:
            s["bmax"], s["bmax_step"] = p.value, p.step
        if (p.step, p.ts) >= (s["blast_step"], s["blast_ts"]):
            s["blast"], s["blast_step"], s["blast_ts"] = p.value, p.step, p.ts
    return sorted(acc.values(), key=lambda s: s["sid"])


def _exact(summaries: list[dict]) -> list[dict]:
    """Comparable: NaN and the sign of zero made visible."""
    return [{k: (repr(v) if isinstance(v, float) else v) for k, v in s.items()} for s in summaries]


def test_batch_summaries_match_the_point_by_point_definition() -> None:
    rnd = random.Random(4)
    pool = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, 2.0, -1.0]
    for _ in range(2000):
        points = [Point(rnd.choice("abcd"), rnd.choice(pool) if rnd.random() < 0.5 else float(rnd.randint(-3, 3)),
                        rnd.randint(0, 4), rnd.randint(0, 3)) for _ in range(rnd.randint(1, 30))]
        ids = {key: 10 - i for i, key in enumerate(sorted({p.key for p in points}))}
        assert _exact(_batch_summaries(points, ids)) == _exact(_reference_summaries(points, ids)), points


def test_copy_data_binary_and_its_text_fallback() -> None:
    rows = [(1, -(2**63), 0, math.nan), (2**31 - 1, 2**63 - 1, 2**63 - 1, -0.0), (3, 4, 5, math.inf)]
    statement, buffer = metric_rows._copy_data(rows)
    data = buffer.getvalue()
    assert statement.endswith("(FORMAT binary)") and data.startswith(b"PGCOPY\n\xff\r\n\x00")
    assert len(data) == 19 + 46 * len(rows) + 2 and data[-2:] == b"\xff\xff"
    fields = [struct.unpack("!hiiiqiqid", data[19 + 46 * i:19 + 46 * (i + 1)]) for i in range(3)]
    assert [(f[2], f[4], f[6]) for f in fields] == [r[:3] for r in rows]
    assert [repr(f[8]) for f in fields] == ["nan", "-0.0", "inf"]
    for wide in ((1, 2**63, 0, 1.0), (2**31, 0, 0, 1.0), (1, 1.5, 0, 1.0), (1, 0, 0, None)):
        statement, buffer = metric_rows._copy_data([rows[0], wide])
        assert statement == metric_rows.COPY_POINTS  # Postgres judges these rows, as before
        assert buffer.getvalue().splitlines()[1] == "\t".join([str(v) for v in wide[:3]] + [repr(wide[3])])

