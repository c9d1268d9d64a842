"""Metric ingest (one transaction per batch, bulk insert, summaries kept in step) and metric reads."""
from __future__ import annotations

import math
from operator import itemgetter
from typing import Any, Callable, Iterable, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import metric_rows, rollups
from db.models import MetricSeries, Run, now_ms
from services import audit, validation
from services.access import require_run
from services.context import Actor, Core
from services.errors import Conflict, Invalid, NotFound
from services.paging import Page, decode_cursor, encode_cursor
from services.runs import ensure_writable

MAX_POINTS_PER_REQUEST = 100_000
MAX_HISTORY_PAGE = 25_000
MAX_STEP = 2**53
RAW_DOWNSAMPLE_LIMIT = 20_000  # longer series are charted from db.rollups
EAGER_ROLLUP_STEPS = 10_000  # a write leaves at most this many steps of a long series' rollups for the next read


class Point(NamedTuple):
    key: str
    value: float
    step: int
    ts: int


def number(value: float | None) -> float | None:
    """JSON has no NaN: a stored NaN (MLflow clients log them) goes out as null."""
    return None if value is None or value != value else value


def summary_dict(series: MetricSeries) -> dict:
    return {"key": series.key, "last": number(series.last_value), "min": number(series.min_value),
            "max": number(series.max_value),
            "count": series.count, "last_step": series.last_step if series.count else None,
            "min_step": series.min_step, "max_step": series.max_step,
            "last_timestamp": validation.iso(series.last_ts) if series.count else None}


def points_from_steps(entries: Iterable[dict[str, Any]], default_ts: int | None = None) -> list[Point]:
    """The seed's shape, one or many: [{"metrics": {key: value}, "step": n, "timestamp": t}, ...]."""
    now = default_ts if default_ts is not None else now_ms()
    points: list[Point] = []
    seen: set[tuple[str, int]] = set()
    good_keys: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"steps[{index}]"
        step = _step(entry.get("step"), f"{where}.step")
        ts = validation.timestamp_ms(entry.get("timestamp"), f"{where}.timestamp", now)
        metrics = entry.get("metrics")
        if not isinstance(metrics, dict) or not metrics:
            raise Invalid(f"{where}.metrics must be a non-empty object of name → number", f"{where}.metrics")
        for key, value in metrics.items():
            if key not in good_keys:
                good_keys.add(validation.key(key, f"{where}.metrics"))
            if (key, step) in seen:
                raise Invalid(f"metric {key!r} appears twice for step {step} in one batch", f"{where}.metrics.{key}")
            seen.add((key, step))
            if type(value) is not float or not math.isfinite(value):
                value = validation.finite(value, f"{where}.metrics.{key}")
            points.append(Point(key, value, step, ts))
    _check_size(points)
    return points


def _step(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be a whole number", field)
    if not -MAX_STEP < value < MAX_STEP:
        raise Invalid(f"{field} is out of range", field)
    return value


def _check_size(points: list[Point]) -> None:
    if not points:
        raise Invalid("no metric values in the request", "metrics")
    if len(points) > MAX_POINTS_PER_REQUEST:
        raise Invalid(f"at most {MAX_POINTS_PER_REQUEST} metric values per request", "metrics")


Prepare = Callable[[Session, Run, list[Point]], tuple[list[Point], dict[str, int]]]  # and the run's series ids


def log_points(core: Core, actor: Actor, run_id: str, points: list[Point], prepare: Prepare | None = None) -> dict:
    """Store a batch atomically: points, summaries and one audit row; then bump versions and publish.
    `prepare` may rewrite the points inside the same transaction (the MLflow path settles replays there); it
    returns them with every series id of the run it read, so those are not looked up again."""
    _check_size(points)
    with core.sessions() as session:
        try:
            with session.begin():
                run = require_run(session, actor, run_id, "editor")
                ensure_writable(run)
                known = None
                if prepare is not None:
                    points, known = prepare(session, run, points)
                    if not points:
                        return {"run_id": run_id, "accepted": 0}
                series_ids = metric_rows.ensure_series(session, run.pk, sorted({p.key for p in points}), known)
                metric_rows.insert_points(session, [(series_ids[p.key], p.step, p.ts, p.value) for p in points])
                states = metric_rows.merge_summaries(session, _batch_summaries(points, series_ids))
                rollups.refresh_stale(session, list(series_ids.values()), RAW_DOWNSAMPLE_LIMIT, EAGER_ROLLUP_STEPS,
                                      states)
                audit.record(session, actor, "metrics.log", "run", run_id, after={"points": len(points)})
                experiment_id = run.experiment_id
        except IntegrityError:
            raise Conflict("some of these metric values were already logged at the same step and timestamp;"
                           " nothing was written", "metrics") from None
    core.bus.bump([f"run:{run_id}", f"exp:{experiment_id}"], _event(run_id, experiment_id, points))
    return {"run_id": run_id, "accepted": len(points)}


def _batch_summaries(points: list[Point], series_ids: dict[str, int]) -> list[dict]:
    """Per key: count, min, max (NaN never counts as either; the first of equals wins), latest value by
    (step, timestamp) (the last of equals wins), first step. Column-wise in C loops per key."""
    groups: dict[str, list[Point]] = {}
    for point in points:
        group = groups.get(point.key)
        if group is None:
            groups[point.key] = [point]
        else:
            group.append(point)
    return sorted((_summary(series_ids[key], group) for key, group in groups.items()), key=itemgetter("sid"))


def _summary(sid: int, group: list[Point]) -> dict:
    _, values, steps, stamps = zip(*group)
    positions = list(zip(steps, stamps))
    latest = max(positions)
    last = len(positions) - 1 if positions[-1] == latest else len(positions) - 1 - positions[::-1].index(latest)
    total = sum(values)
    if total == total:  # no NaN among the values
        bmin, bmax = min(values), max(values)
        bmin_step, bmax_step = steps[values.index(bmin)], steps[values.index(bmax)]
    else:
        bmin, bmin_step, bmax, bmax_step = _finite_extremes(values, steps)
    return {"sid": sid, "n": len(values), "bmin": bmin, "bmin_step": bmin_step, "bmax": bmax,
            "bmax_step": bmax_step, "blast": values[last], "blast_step": steps[last], "blast_ts": stamps[last],
            "bfirst_step": min(steps)}


def _finite_extremes(values: tuple[float, ...], steps: tuple[int, ...]) -> tuple:
    """(min, its step, max, its step) skipping NaN; all None when every value is NaN."""
    pairs = [(value, step) for value, step in zip(values, steps) if value == value]
    if not pairs:
        return None, None, None, None
    kept = [value for value, _ in pairs]
    low, high = kept.index(min(kept)), kept.index(max(kept))
    return pairs[low][0], pairs[low][1], pairs[high][0], pairs[high][1]


def _event(run_id: str, experiment_id: str, points: list[Point]) -> dict:
    step = max(p.step for p in points)
    latest = {p.key: number(p.value) for p in points if p.step == step}
    ts = max(p.ts for p in points)
    return {"type": "metrics", "run_id": run_id, "experiment_id": experiment_id, "count": len(points),
            "metrics": {"step": step, **latest}, "timestamp": validation.iso(ts)}


def summaries(core: Core, actor: Actor, run_id: str) -> list[dict]:
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        rows = session.execute(select(MetricSeries).where(MetricSeries.run_pk == run.pk)
                               .order_by(MetricSeries.key)).scalars()
        return [summary_dict(s) for s in rows]


def _series(session: Session, actor: Actor, run_id: str, key: str) -> MetricSeries:
    run = require_run(session, actor, run_id)
    series = session.execute(select(MetricSeries).where(MetricSeries.run_pk == run.pk,
                                                        MetricSeries.key == key)).scalar_one_or_none()
    if series is None:
        raise NotFound(f"run {run_id} has no metric {key!r}", "key")
    return series


def history(core: Core, actor: Actor, run_id: str, key: str, limit: int = 1000, cursor: str | None = None) -> Page:
    """Raw points in (step, timestamp) order, paged by a keyset cursor."""
    if not 1 <= limit <= MAX_HISTORY_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_HISTORY_PAGE}", "limit")
    after = decode_cursor(cursor)
    position = (after.get("s"), after.get("t")) if after else None
    if position is not None and not all(isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**63
                                        for v in position):
        raise Invalid("cursor is not one this server issued", "cursor")
    with core.sessions() as session:
        series = _series(session, actor, run_id, key)
        rows = metric_rows.page(session, series.id, position, limit + 1)
        total = series.count
    items = [{"step": s, "timestamp": validation.iso(t), "value": number(v)} for s, t, v in rows[:limit]]
    more = len(rows) > limit
    next_cursor = encode_cursor({"s": rows[limit - 1][0], "t": rows[limit - 1][1]}) if more else None
    return Page(items=items, next_cursor=next_cursor, total=total, extra={"key": key})


def downsampled(core: Core, actor: Actor, run_id: str, key: str, buckets: int = 1000) -> dict:
    """≤ buckets rows of (step range, min, max, last, ts_last) so spikes survive any history length; ts_last is
    the timestamp (ms) of the bucket's last point, for time-based x axes."""
    if not 1 <= buckets <= 10_000:
        raise Invalid("buckets must be between 1 and 10000", "buckets")
    with core.heavy_slots_or_busy(), core.sessions() as session, session.begin():
        series = _series(session, actor, run_id, key)
        if series.count > RAW_DOWNSAMPLE_LIMIT:
            rollups.refresh(session, series.id)
            rows = rollups.read(session, series.id, buckets)
        else:
            rows = metric_rows.buckets(session, series.id, buckets) if series.count else []
    return {"key": key, "count": series.count, "buckets": [
        {"step_start": lo, "step_end": hi, "min": number(mn), "max": number(mx), "last": number(last), "count": n,
         "ts_last": ts} for lo, hi, mn, mx, last, n, ts in rows]}
