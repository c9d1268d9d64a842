"""Bulk SQL for the metrics tables: series upsert, point insert (COPY on Postgres), summary merge, reads."""
from __future__ import annotations

import io
import struct
from itertools import repeat

from sqlalchemy import (Float, and_, bindparam, case, cast, func, insert, literal, literal_column, or_, select,
                        tuple_, update)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from psycopg2.extras import execute_values
from sqlalchemy.orm import Session

from db.models import MetricPoint, MetricSeries

COPY_POINTS = "COPY metric_points (series_id, step, ts, value) FROM STDIN"
COPY_POINTS_BINARY = COPY_POINTS + " (FORMAT binary)"
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_BINARY_ROW = struct.Struct("!hiiiqiqid")  # 4 fields, each (length, value)
_BINARY_TRAILER = b"\xff\xff"
PointRow = tuple[int, int, int, float]  # series_id, step, ts, value


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def ensure_series(session: Session, run_pk: int, keys: list[str], known: dict[str, int] | None = None
                  ) -> dict[str, int]:
    """Return {key: series_id}, creating missing series (race-safe with ON CONFLICT DO NOTHING). `known` holds
    the run's existing series among these keys, as the caller has just read them (key → id): then only the
    keys missing from it are created, with no lookup first."""
    if known is None:
        ids = _series_ids(session, run_pk, keys)
    else:
        ids = {k: known[k] for k in keys if k in known}
    missing = [k for k in keys if k not in ids]
    if missing:
        maker = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
        stmt = maker(MetricSeries).values([{"run_pk": run_pk, "key": k, "count": 0} for k in missing])
        session.execute(stmt.on_conflict_do_nothing(index_elements=["run_pk", "key"]))
        ids.update(_series_ids(session, run_pk, missing))
    return ids


def _series_ids(session: Session, run_pk: int, keys: list[str]) -> dict[str, int]:
    stmt = select(MetricSeries.key, MetricSeries.id).where(MetricSeries.run_pk == run_pk, MetricSeries.key.in_(keys))
    return dict(session.execute(stmt).all())


def insert_points(session: Session, rows: list[PointRow]) -> None:
    """One bulk insert: COPY on Postgres, executemany on SQLite."""
    if _dialect(session) == "postgresql":
        statement, buffer = _copy_data(rows)
        dbapi_conn = session.connection().connection.dbapi_connection
        with dbapi_conn.cursor() as cursor:
            try:
                cursor.copy_expert(statement, buffer)
            except dbapi_conn.IntegrityError as exc:  # raw DBAPI: wrap it as SQLAlchemy's insert path would
                raise IntegrityError(statement, None, exc) from exc
        return
    session.execute(insert(MetricPoint), [{"series_id": s, "step": st, "ts": t, "value": v} for s, st, t, v in rows])


def _copy_data(rows: list[PointRow]) -> tuple[str, io.IOBase]:
    """COPY's binary format (int4, int8, int8, float8 fields; no number formatting on either side). Rows that
    do not fit those types go as text, so Postgres reports them as it always did."""
    try:
        sids, steps, stamps, values = zip(*rows)
        data = b"".join(map(_BINARY_ROW.pack, repeat(4), repeat(4), sids, repeat(8), steps, repeat(8), stamps,
                            repeat(8), values))
        return COPY_POINTS_BINARY, io.BytesIO(_BINARY_HEADER + data + _BINARY_TRAILER)
    except (struct.error, ValueError):
        return COPY_POINTS, io.StringIO("".join(f"{s}\t{st}\t{t}\t{v!r}\n" for s, st, t, v in rows))


_PG_MERGE = """
UPDATE metric_series AS s SET
  count = s.count + b.n,
  min_value = CASE WHEN s.min_value IS NULL OR b.bmin < s.min_value THEN b.bmin ELSE s.min_value END,
  min_step = CASE WHEN s.min_value IS NULL OR b.bmin < s.min_value THEN b.bmin_step ELSE s.min_step END,
  max_value = CASE WHEN s.max_value IS NULL OR b.bmax > s.max_value THEN b.bmax ELSE s.max_value END,
  max_step = CASE WHEN s.max_value IS NULL OR b.bmax > s.max_value THEN b.bmax_step ELSE s.max_step END,
  last_value = CASE WHEN (b.blast_step, b.blast_ts) >= (s.last_step, s.last_ts) THEN b.blast ELSE s.last_value END,
  last_ts = CASE WHEN (b.blast_step, b.blast_ts) >= (s.last_step, s.last_ts) THEN b.blast_ts ELSE s.last_ts END,
  last_step = CASE WHEN (b.blast_step, b.blast_ts) >= (s.last_step, s.last_ts) THEN b.blast_step ELSE s.last_step END,
  rollup_from = CASE WHEN s.rollup_from IS NULL OR b.bfirst_step < s.rollup_from THEN b.bfirst_step
                     ELSE s.rollup_from END
FROM (VALUES %s) AS b(sid, n, bmin, bmin_step, bmax, bmax_step, blast, blast_step, blast_ts, bfirst_step)
WHERE s.id = b.sid
RETURNING s.id, s.count, s.rollup_from, s.last_step
"""
_MERGE_FIELDS = ("sid", "n", "bmin", "bmin_step", "bmax", "bmax_step", "blast", "blast_step", "blast_ts",
                 "bfirst_step")


SeriesState = tuple[int, int, int | None, int | None]  # id, count, rollup_from, last_step after the merge


def merge_summaries(session: Session, batches: list[dict]) -> list[SeriesState] | None:
    """Fold each key's batch aggregates into its summary row, in SQL, so concurrent batches compose.

    Postgres: one UPDATE ... FROM (VALUES ...) round trip that returns each series' new state (for the rollup
    check); SQLite: an executemany of the same logic, returning None.
    """
    if _dialect(session) == "postgresql":
        rows = [tuple(b[f] for f in _MERGE_FIELDS) for b in batches]
        dbapi_conn = session.connection().connection.dbapi_connection
        with dbapi_conn.cursor() as cursor:
            return execute_values(cursor, _PG_MERGE, rows, page_size=max(len(rows), 1), fetch=True,
                                  template="(%s, %s, %s::float8, %s::bigint, %s::float8, "
                                  "%s::bigint, %s::float8, %s::bigint, %s::bigint, %s::bigint)")
    s = MetricSeries
    lower = or_(s.min_value.is_(None), bindparam("bmin") < s.min_value)
    higher = or_(s.max_value.is_(None), bindparam("bmax") > s.max_value)
    later = or_(bindparam("blast_step") > s.last_step,
                and_(bindparam("blast_step") == s.last_step, bindparam("blast_ts") >= s.last_ts))
    stmt = (update(s).where(s.id == bindparam("sid")).values(
        count=s.count + bindparam("n"),
        min_value=case((lower, bindparam("bmin")), else_=s.min_value),
        min_step=case((lower, bindparam("bmin_step")), else_=s.min_step),
        max_value=case((higher, bindparam("bmax")), else_=s.max_value),
        max_step=case((higher, bindparam("bmax_step")), else_=s.max_step),
        last_value=case((later, bindparam("blast")), else_=s.last_value),
        last_ts=case((later, bindparam("blast_ts")), else_=s.last_ts),
        last_step=case((later, bindparam("blast_step")), else_=s.last_step),
        rollup_from=case((or_(s.rollup_from.is_(None), bindparam("bfirst_step") < s.rollup_from),
                          bindparam("bfirst_step")), else_=s.rollup_from)))
    session.connection().execute(stmt, batches)


def page(session: Session, series_id: int, after: tuple[int, int] | None, limit: int) -> list[tuple]:
    p = MetricPoint
    stmt = select(p.step, p.ts, p.value).where(p.series_id == series_id)
    if after is not None:
        stmt = stmt.where(tuple_(p.step, p.ts) > tuple_(literal(after[0]), literal(after[1])))
    return [tuple(r) for r in session.execute(stmt.order_by(p.step, p.ts).limit(limit)).all()]


def buckets(session: Session, series_id: int, n: int) -> list[tuple]:
    """(step_start, step_end, min, max, last, count, ts of last) per bucket of equal step width, ≤ n buckets."""
    p = MetricPoint
    lo, hi = session.execute(select(func.min(p.step), func.max(p.step)).where(p.series_id == series_id)).one()
    if lo is None:
        return []
    span = float(hi - lo + 1)
    bucket = cast(func.floor((p.step - lo) * (n / span)), Float).label("b")
    finite = func.nullif(p.value, literal_column("'NaN'")).label("finite")  # NaN is neither min nor max
    inner = select(p.step, p.ts, p.value, finite, bucket).where(p.series_id == series_id).subquery()
    ranked = select(inner, func.row_number().over(partition_by=inner.c.b,
                                                  order_by=(inner.c.step.desc(), inner.c.ts.desc())).label("rn"),
                    func.min(inner.c.finite).over(partition_by=inner.c.b).label("mn"),
                    func.max(inner.c.finite).over(partition_by=inner.c.b).label("mx"),
                    func.min(inner.c.step).over(partition_by=inner.c.b).label("lo"),
                    func.count().over(partition_by=inner.c.b).label("cnt")).subquery()
    stmt = (select(ranked.c.lo, ranked.c.step, ranked.c.mn, ranked.c.mx, ranked.c.value, ranked.c.cnt,
                   ranked.c.ts)
            .where(ranked.c.rn == 1).order_by(ranked.c.lo))
    return [tuple(r) for r in session.execute(stmt).all()]
