"""Multi-resolution step buckets for long metric series, rebuilt lazily so chart reads stay flat in length."""
from __future__ import annotations

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session

from db.metric_rows import SeriesState
from db.models import MetricRollup, MetricSeries

WIDTH = 16  # level k buckets span WIDTH ** (k + 1) steps
LEVELS = 7
SPREAD = 4  # read at most SPREAD × n rollup rows for n output buckets

_FROM_POINTS = text("""
INSERT INTO metric_rollups (series_id, level, bucket, step_lo, step_hi, min_value, max_value, last_value, last_ts,
                            count)
SELECT :sid, 0, b, lo, hi, mn, mx, value, ts, cnt FROM (
  SELECT step / :w AS b, step, ts, value,
         MIN(step) OVER part AS lo, MAX(step) OVER part AS hi, MIN(NULLIF(value, 'NaN')) OVER part AS mn,
         MAX(NULLIF(value, 'NaN')) OVER part AS mx, COUNT(*) OVER part AS cnt,
         ROW_NUMBER() OVER (PARTITION BY step / :w ORDER BY step DESC, ts DESC) AS rn
  FROM metric_points WHERE series_id = :sid AND step >= :start
  WINDOW part AS (PARTITION BY step / :w)) t
WHERE rn = 1
""")

_FROM_LEVEL = text("""
INSERT INTO metric_rollups (series_id, level, bucket, step_lo, step_hi, min_value, max_value, last_value, last_ts,
                            count)
SELECT :sid, :level, b, lo, hi, mn, mx, last_value, last_ts, cnt FROM (
  SELECT bucket / :w AS b, last_value, last_ts,
         MIN(step_lo) OVER part AS lo, MAX(step_hi) OVER part AS hi, MIN(min_value) OVER part AS mn,
         MAX(max_value) OVER part AS mx, SUM(count) OVER part AS cnt,
         ROW_NUMBER() OVER (PARTITION BY bucket / :w ORDER BY step_hi DESC, last_ts DESC) AS rn
  FROM metric_rollups WHERE series_id = :sid AND level = :prev AND bucket >= :start
  WINDOW part AS (PARTITION BY bucket / :w)) t
WHERE rn = 1
""")

Bucket = tuple[int, int, float, float, float, int, int]  # step_lo, step_hi, min, max, last, count, ts of last


def refresh(session: Session, series_id: int) -> None:
    """Rebuild the buckets from the lowest stale step upwards (all of them after a negative step)."""
    stmt = select(MetricSeries.rollup_from).where(MetricSeries.id == series_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    start = session.execute(stmt).scalar_one_or_none()
    if start is None:
        return
    full = start < 0
    for level in range(LEVELS):
        first_bucket = 0 if full else start // WIDTH ** (level + 1)
        gone = delete(MetricRollup).where(MetricRollup.series_id == series_id, MetricRollup.level == level)
        session.execute(gone if full else gone.where(MetricRollup.bucket >= first_bucket))
        if level == 0:
            session.execute(_FROM_POINTS, {"sid": series_id, "w": WIDTH,
                                           "start": -(2**62) if full else first_bucket * WIDTH})
        else:
            session.execute(_FROM_LEVEL, {"sid": series_id, "level": level, "prev": level - 1, "w": WIDTH,
                                          "start": -(2**62) if full else first_bucket * WIDTH})
    session.execute(update(MetricSeries).where(MetricSeries.id == series_id).values(rollup_from=None))


def refresh_stale(session: Session, series_ids: list[int], min_count: int, span: int,
                  states: list[SeriesState] | None = None) -> None:
    """At write time: refresh the series longer than min_count points whose stale tail reaches `span` steps, so a
    chart read never has more than that tail to build (a first chart of a 1M-point series stays flat).
    `states` (id, count, rollup_from, last_step), when the caller has them fresh, spare the query."""
    if states is not None:
        stale = sorted(sid for sid, count, start, last in states if count > min_count and start is not None
                       and (start < 0 or (last is not None and last - start >= span)))
    else:
        stale = session.execute(select(MetricSeries.id).where(
            MetricSeries.id.in_(series_ids), MetricSeries.count > min_count, MetricSeries.rollup_from.is_not(None),
            or_(MetricSeries.rollup_from < 0, MetricSeries.last_step - MetricSeries.rollup_from >= span))
            .order_by(MetricSeries.id)).scalars().all()
    for series_id in stale:
        refresh(session, series_id)


def read(session: Session, series_id: int, n: int) -> list[Bucket]:
    """≤ n buckets over the whole series from the coarsest level that still gives n-bucket resolution."""
    top = session.execute(select(MetricRollup.step_lo, MetricRollup.step_hi).where(
        MetricRollup.series_id == series_id, MetricRollup.level == LEVELS - 1)).all()
    if not top:
        return []
    lo, hi = min(r[0] for r in top), max(r[1] for r in top)
    span = hi - lo + 1
    level = next((k for k in range(LEVELS) if WIDTH ** (k + 1) * SPREAD * n >= span), LEVELS - 1)
    rows = session.execute(select(MetricRollup.step_lo, MetricRollup.step_hi, MetricRollup.min_value,
                                  MetricRollup.max_value, MetricRollup.last_value, MetricRollup.count,
                                  MetricRollup.last_ts)
                           .where(MetricRollup.series_id == series_id, MetricRollup.level == level)
                           .order_by(MetricRollup.bucket)).all()
    return merge(rows, lo, span, n)


def _pick(choose, a: float | None, b: float | None) -> float | None:  # noqa: ANN001
    """min/max that ignore a missing side (a bucket whose values were all NaN)."""
    if a is None:
        return b
    return a if b is None else choose(a, b)


def merge(rows: list, lo: int, span: int, n: int) -> list[Bucket]:
    """Fold rows (ordered by step) into n equal step-width buckets, keeping min, max and the latest value with
    its timestamp."""
    out: list[list] = []
    current = -1
    for step_lo, step_hi, mn, mx, last, count, last_ts in rows:
        index = min(n - 1, (step_lo - lo) * n // span)
        if index != current:
            out.append([step_lo, step_hi, mn, mx, last, count, last_ts])
            current = index
            continue
        acc = out[-1]
        acc[1], acc[2], acc[3], acc[4], acc[5], acc[6] = step_hi, _pick(min, acc[2], mn), _pick(max, acc[3], mx), \
            last, acc[5] + count, last_ts
    return [tuple(b) for b in out]
