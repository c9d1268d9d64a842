"""MLflow metrics: values as MLflow sends them (NaN allowed), replay-safe ingest through our metric path, and
the paged raw history."""
from __future__ import annotations

import base64
import json
import math
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import MetricPoint, MetricSeries, Run
from services import validation
from services import metrics as metric_service
from services.context import Actor, Core
from services.errors import Conflict, Invalid
from services.metrics import Point
from services.mlflow_store import load_run

INT64 = 2**63
MAX_TS = validation.MAX_EPOCH_MS  # later times cannot be written as ISO 8601 (the v1 API and live events do)
MAX_HISTORY_PAGE = 25_000
_SPECIAL = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf,
            "inf": math.inf, "-inf": -math.inf}


def number(raw: Any, field: str) -> float:
    """A double as protobuf JSON carries it: a number, or a string such as "NaN", "Infinity", "1.5"."""
    if isinstance(raw, bool) or raw is None:
        raise Invalid(f"Missing or invalid value for parameter '{field}': expected a number", field)
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        if raw.strip().lower() in _SPECIAL:
            return _SPECIAL[raw.strip().lower()]
        try:
            return float(raw)
        except ValueError:
            pass
    raise Invalid(f"Invalid value {str(raw)[:40]!r} for parameter '{field}': expected a number", field)


def integer(raw: Any, field: str, default: int | None = None) -> int:
    """An int64 as protobuf JSON carries it (number or decimal string)."""
    if raw is None or raw == "":
        if default is None:
            raise Invalid(f"Missing value for required parameter '{field}'", field)
        return default
    if isinstance(raw, bool):
        raise Invalid(f"Invalid value {raw!r} for parameter '{field}': expected an integer", field)
    try:
        value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
    except (TypeError, ValueError):
        value = None
    if value is None or not -INT64 <= value < INT64:
        raise Invalid(f"Invalid value {str(raw)[:40]!r} for parameter '{field}': expected a 64-bit integer", field)
    return value


@lru_cache(maxsize=4096)
def _checked_key(key: str) -> str:
    return validation.key(key, "key")  # raises for a bad key, and errors are never cached


def make_point(key: Any, value: Any, timestamp: Any, step: Any) -> Point:
    if type(key) is str and type(value) is float and type(timestamp) is int and type(step) is int \
            and 0 <= timestamp <= MAX_TS and -INT64 <= step < INT64:  # what every client sends: no conversions
        return Point(_checked_key(key), value, step, timestamp)
    validation.key(key, "key")
    ts = integer(timestamp, "timestamp")
    if not 0 <= ts <= MAX_TS:
        raise Invalid(f"Invalid value {ts} for parameter 'timestamp': must be epoch milliseconds from 0 to {MAX_TS} "
                      "(9999-12-31)", "timestamp")
    return Point(key, number(value, "value"), integer(step, "step", 0), ts)


def make_points(metrics: list[dict]) -> list[Point]:
    """make_point for each metric dict, in order (the first bad one raises). A batch where every field is
    present and already of its wire type is checked column by column in C loops; others go point by point."""
    keys, values, steps, stamps = (list(map(dict.get, metrics, repeat(name)))
                                   for name in ("key", "value", "step", "timestamp"))
    if metrics and set(map(type, keys)) == {str} and set(map(type, values)) == {float} \
            and set(map(type, steps)) == {int} and set(map(type, stamps)) == {int} \
            and min(stamps) >= 0 and max(stamps) <= MAX_TS and min(steps) >= -INT64 and max(steps) < INT64:
        checked = {key: _checked_key(key) for key in dict.fromkeys(keys)}  # in order: the same first error
        if any(checked[key] is not key for key in checked):
            keys = list(map(checked.__getitem__, keys))
        return list(map(tuple.__new__, repeat(Point), zip(keys, values, steps, stamps)))
    return [make_point(m.get("key"), m.get("value"), m.get("timestamp"), m.get("step")) for m in metrics]


def _same(a: float | None, b: float) -> bool:
    return (a is None or math.isnan(a)) if math.isnan(b) else a == b


def _settle(session: Session, run: Run, points: list[Point]) -> tuple[list[Point], dict[str, int]]:
    """Drop exact replays; move a different value logged at a taken (step, timestamp) 1 ms later, because
    MLflow keeps both values where our key is (step, timestamp). Keys whose batch starts after their last
    stored step (what a training loop sends) cannot collide, so only the other keys' points are read back.
    Returns the points to store and the ids of the batch's keys that already have a series."""
    keys, _, steps, stamps = zip(*points)
    first = dict(sorted(zip(keys, steps), key=itemgetter(1), reverse=True))  # the last write wins: lowest step
    stored = session.execute(select(MetricSeries.key, MetricSeries.id, MetricSeries.count, MetricSeries.last_step)
                             .where(MetricSeries.run_pk == run.pk, MetricSeries.key.in_(list(first)))).all()
    known = {key: sid for key, sid, _, _ in stored}
    series = {key: sid for key, sid, count, last_step in stored
              if count and (last_step is None or first[key] <= last_step)}
    taken: dict[tuple[str, int, int], float | None] = {}
    old = [p for p in points if p.key in series] if series else []
    if old:
        by_id = {v: k for k, v in series.items()}
        p = MetricPoint
        rows = session.execute(select(p.series_id, p.step, p.ts, p.value).where(
            p.series_id.in_(list(by_id)), p.step.between(min(x.step for x in old), max(x.step for x in old)),
            p.ts.between(min(x.ts for x in old), max(x.ts for x in old) + len(points))))
        taken = {(by_id[sid], step, ts): value for sid, step, ts, value in rows}
    elif len(set(zip(keys, steps, stamps))) == len(points):
        return points, known  # nothing stored to collide with, and no (key, step, timestamp) twice in the batch
    settled: list[Point] = []
    for point in points:
        ts = point.ts
        while (point.key, point.step, ts) in taken and not _same(taken[(point.key, point.step, ts)], point.value):
            ts += 1
        if (point.key, point.step, ts) in taken:
            continue  # the very same value is already there: a replay
        taken[(point.key, point.step, ts)] = point.value
        settled.append(point if ts == point.ts else Point(point.key, point.value, point.step, ts))
    return settled, known


def _unique_violation(exc: Exception) -> bool:
    return isinstance(exc, (IntegrityError, Conflict)) or getattr(exc, "pgcode", None) == "23505"


def log_points(core: Core, actor: Actor, run_id: str, points: list[Point]) -> None:
    """Store a batch in one transaction; a concurrent writer taking one of our (step, timestamp) slots costs
    one retry."""
    for attempt in range(2):
        try:
            metric_service.log_points(core, actor, run_id, points, prepare=_settle)
            return
        except Exception as exc:  # noqa: BLE001 - only a unique violation is retried
            if attempt or not _unique_violation(exc):
                raise


def _decode(token: str | None) -> tuple[int, int] | None:
    if not token:
        return None
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        position = (state["s"], state["t"])
    except (ValueError, KeyError, TypeError, UnicodeError):
        position = None
    if position is None or not all(isinstance(v, int) and not isinstance(v, bool) for v in position):
        raise Invalid(f"Invalid page token {token[:40]!r}", "page_token")
    return position


def _encode(step: int, ts: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"s": step, "t": ts}).encode()).decode().rstrip("=")


def _page(session: Session, series_id: int, after: tuple[int, int] | None, limit: int) -> list[tuple]:
    """(step, ts, value) rows straight from the DBAPI cursor: no Row objects for a 25,000-point page."""
    mark = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
    sql = f"SELECT step, ts, value FROM metric_points WHERE series_id = {mark}"
    args: tuple = (series_id,)
    if after is not None:
        sql += f" AND (step, ts) > ({mark}, {mark})"
        args += after
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"{sql} ORDER BY step, ts LIMIT {int(limit)}", args)
        return cursor.fetchall()
    finally:
        cursor.close()


_WIRE_TOKENS = {"NaN": '"NaN"', "null": '"NaN"', "Infinity": '"Infinity"', "-Infinity": '"-Infinity"'}


def history_json(core: Core, actor: Actor, run_id: str, key: str, max_results: int | None,
                 page_token: str | None) -> str:
    """get-history's whole JSON reply, written directly: {"metrics": [...], "next_page_token": ...}.
    Values go through the C encoder in one call; NaN, infinities (and SQLite's NULL for NaN) become the
    strings MLflow sends."""
    rows, token = _history_rows(core, actor, run_id, key, max_results, page_token)
    values = json.dumps([row[2] for row in rows])[1:-1].split(", ") if rows else []
    head = '{"key":' + json.dumps(key) + ',"value":'
    items = ",".join([f'{head}{_WIRE_TOKENS.get(v, v)},"timestamp":{row[1]},"step":{row[0]}}}'
                      for v, row in zip(values, rows)])
    tail = f',"next_page_token":{json.dumps(token)}' if token else ""
    return f'{{"metrics":[{items}]{tail}}}'


def _history_rows(core: Core, actor: Actor, run_id: str, key: str, max_results: int | None,
                  page_token: str | None) -> tuple[list[tuple], str | None]:
    """Raw points by (step, timestamp). Without max_results everything comes back, as MLflow's server does."""
    if max_results is not None and max_results < 1:
        raise Invalid(f"Invalid value {max_results} for parameter 'max_results': must be at least 1",
                      "max_results")
    limit = min(max_results, MAX_HISTORY_PAGE) if max_results is not None else None
    after = _decode(page_token)
    with core.sessions() as session:
        run = load_run(session, actor, run_id)
        series_id = session.execute(select(MetricSeries.id).where(MetricSeries.run_pk == run.pk,
                                                                  MetricSeries.key == key)).scalar()
        if series_id is None:
            return [], None
        rows = _page(session, series_id, after, (limit + 1) if limit else 2**62)
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit else rows
    return rows, _encode(rows[-1][0], rows[-1][1]) if more else None
