"""The experiment run table: column discovery and one page of rows with sort and filter turned into SQL."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement, Select

from db.models import MetricSeries, Param, Run, User, now_ms
from live.cache import cached
from services import gates, run_gates, validation
from services.access import require_experiment
from services.context import Actor, Core
from services.errors import Invalid
from services.metrics import number as as_number
from services.run_filters import condition

FIXED_COLUMNS = ("name", "status", "user", "start_time", "duration")
TEXT_COLUMNS = ("name", "status", "user")
AGGREGATES = ("last", "min", "max")
MAX_BLOCK = 500
MAX_JOINED_COLUMNS = 16
MAX_DISCOVERED = 200
MAX_EXPORT = 50_000


@dataclass(frozen=True)
class Column:
    """A whitelisted run-table column: fixed, a param key, or a metric key with a summary aggregate."""

    col_id: str
    kind: str  # "fixed" | "param" | "metric"
    key: str = ""
    agg: str = ""


def param_col(key: str) -> str:
    return f"p:{key}"


def metric_col(key: str, agg: str = "last") -> str:
    return f"m:{key}:{agg}"


def parse_column(col_id: Any) -> Column | None:
    """The column a client-sent id names, or None when it is not one we allow."""
    if not isinstance(col_id, str):
        return None
    if col_id in FIXED_COLUMNS:
        return Column(col_id, "fixed")
    kind, _, rest = col_id.partition(":")
    if kind == "p" and _valid_key(rest):
        return Column(col_id, "param", rest)
    if kind == "m":
        key, _, agg = rest.rpartition(":")
        if agg in AGGREGATES and _valid_key(key):
            return Column(col_id, "metric", key, agg)
    return None


def _valid_key(key: str) -> bool:
    try:
        validation.key(key, "column")
    except Invalid:
        return False
    return True


def discover_columns(core: Core, actor: Actor, experiment_id: str) -> dict[str, list]:
    """The experiment's param keys (with whether every value is a number), metric keys, and whether it has
    validation criteria (its run table then shows a Gate column). The keys are cached per experiment version
    (every write bumps it), so page loads and live ticks of many viewers share one scan."""
    with core.sessions() as session:
        exp = require_experiment(session, actor, experiment_id)
        gated = bool(run_gates.context(session, exp).criteria)
    version = core.bus.version(f"exp:{experiment_id}")  # read before the scan: a write meanwhile moves past it
    keys = cached(core.cache, f"run-table-columns:{experiment_id}:{version}", lambda: _scan_keys(core, experiment_id))
    return {**keys, "gated": gated}


def _scan_keys(core: Core, experiment_id: str) -> dict[str, list]:
    with core.sessions() as session:
        runs = _live_runs(experiment_id)
        params = session.execute(
            select(Param.key, func.count(), func.count(Param.value_num)).where(Param.run_pk.in_(runs))
            .group_by(Param.key).order_by(Param.key).limit(MAX_DISCOVERED)).all()
        metrics = session.execute(
            select(MetricSeries.key).where(MetricSeries.run_pk.in_(runs)).distinct()
            .order_by(MetricSeries.key).limit(MAX_DISCOVERED)).scalars()
        return {"params": [{"key": k, "numeric": n == nums} for k, n, nums in params], "metrics": list(metrics)}


def _live_runs(experiment_id: str) -> Select:
    return select(Run.pk).where(Run.experiment_id == experiment_id, Run.deleted_at.is_(None))


class _Query:
    """Builds the filtered, sorted select; each param/metric column used gets one outer join."""

    def __init__(self, experiment_id: str) -> None:
        self.now = now_ms()
        self.stmt = (select(Run.pk).outerjoin(User, User.id == Run.user_id)
                     .where(Run.experiment_id == experiment_id, Run.deleted_at.is_(None)))
        self.joined: dict[str, Any] = {}

    def expr(self, column: Column, numeric: bool = True) -> ColumnElement:
        if column.kind == "fixed":
            return self._fixed(column.col_id)
        table = self._join(column)
        if column.kind == "param":
            return table.value_num if numeric else table.value
        return {"last": table.last_value, "min": table.min_value, "max": table.max_value}[column.agg]

    def parent(self) -> Any:
        if "parent" not in self.joined:
            table = aliased(Run)
            self.stmt = self.stmt.outerjoin(table, table.pk == Run.parent_pk)
            self.joined["parent"] = table
        return self.joined["parent"]

    def _fixed(self, name: str) -> ColumnElement:
        if name == "duration":
            return func.coalesce(Run.end_time, self.now) - Run.start_time
        return {"name": Run.name, "status": Run.status, "user": User.username, "start_time": Run.start_time}[name]

    def _join(self, column: Column) -> Any:
        name = f"{column.kind}:{column.key}"
        if name not in self.joined:
            if len(self.joined) - ("parent" in self.joined) >= MAX_JOINED_COLUMNS:
                raise Invalid(f"sort and filter on at most {MAX_JOINED_COLUMNS} param/metric columns at once")
            table = aliased(Param if column.kind == "param" else MetricSeries)
            self.stmt = self.stmt.outerjoin(table, and_(table.run_pk == Run.pk, table.key == column.key))
            self.joined[name] = table
        return self.joined[name]


def _apply_filters(query: _Query, filter_model: dict | None) -> None:
    for col_id, model in (filter_model or {}).items():
        column = parse_column(col_id)
        if column is None or not isinstance(model, dict):
            continue
        numeric = model.get("filterType") != "text"
        if not numeric and column.col_id not in TEXT_COLUMNS and column.kind != "param":
            continue  # a text filter on a number column: not one we offer
        scale = 1000.0 if column.col_id == "duration" else 1.0  # the table shows seconds, the database ms
        cond = condition(query.expr(column, numeric), model, scale)
        if cond is not None:
            query.stmt = query.stmt.where(cond)


def _order(query: _Query, sort_model: list | None) -> list:
    order: list = []
    for item in (sort_model or [])[:5]:
        column = parse_column(item.get("colId")) if isinstance(item, dict) else None
        if column is None:
            continue
        descending = item.get("sort") == "desc"
        exprs = [query.expr(column, True)]
        if column.kind == "param":
            exprs.append(query.expr(column, False))
        for expr in exprs:
            order.append((expr.desc() if descending else expr.asc()).nulls_last())
    return order + (_nested_order(query) if not order else []) + [Run.start_time.desc(), Run.pk.desc()]


def _nested_order(query: _Query) -> list:
    """Newest first, each child run right under its parent (oldest child first)."""
    parent = query.parent()
    return [func.coalesce(parent.start_time, Run.start_time).desc(), func.coalesce(parent.pk, Run.pk).desc(),
            Run.parent_pk.is_not(None), Run.start_time.asc()]


def fetch_rows(core: Core, actor: Actor, experiment_id: str, start: int = 0, end: int = 100,
               sort_model: list | None = None, filter_model: dict | None = None, top_level: bool = False) -> dict:
    """Rows [start, end) as AG Grid's infinite model wants them: {"rowData": [...], "rowCount": total}.
    top_level: leave child (nested) runs out."""
    start = max(0, int(start or 0))
    end = min(max(start + 1, int(end or start + 100)), start + MAX_BLOCK)
    with core.sessions() as session:
        exp = require_experiment(session, actor, experiment_id)
        query = _Query(experiment_id)
        _apply_filters(query, filter_model)
        if top_level:
            query.stmt = query.stmt.where(Run.parent_pk.is_(None))
        total = session.execute(select(func.count()).select_from(query.stmt.subquery())).scalar_one()
        order = _order(query, sort_model)  # may add joins: build it before reading query.stmt
        ordered = query.stmt.order_by(*order).offset(start).limit(end - start)
        pks = list(session.execute(ordered).scalars())
        rows = _rows(session, pks, query.now, run_gates.context(session, exp) if pks else None)
    return {"rowData": rows, "rowCount": total}


def _rows(session: Session, pks: list[int], now: int, gate: run_gates.GateContext | None = None) -> list[dict]:
    """The page's runs, params and metric summaries; with a gate context, each run's gate verdict as "gate"."""
    if not pks:
        return []
    parent = aliased(Run)  # columns, not ORM entities: a block of 100 runs × 10 metrics builds no objects
    runs = session.execute(select(*_RUN_COLUMNS, User.username, parent.id, parent.name)
                           .outerjoin(User, User.id == Run.user_id).outerjoin(parent, parent.pk == Run.parent_pk)
                           .where(Run.pk.in_(pks))).all()
    by_pk = {run.pk: _base_row(run, run.username, (run[-2], run[-1]), now) for run in runs}
    for pk, key, text, number in session.execute(
            select(Param.run_pk, Param.key, Param.value, Param.value_num).where(Param.run_pk.in_(pks))):
        by_pk[pk][param_col(key)] = number if number is not None else text
    judged = {pk: run_gates.RunRow(pk, row["id"], row["name"], row["status"], 0) for pk, row in by_pk.items()}
    for s in session.execute(select(*_SERIES_COLUMNS).where(MetricSeries.run_pk.in_(pks))):
        row = by_pk[s.run_pk]
        row[metric_col(s.key, "last")], row[metric_col(s.key, "min")] = s.last_value, s.min_value
        row[metric_col(s.key, "max")] = s.max_value
        if s.count:
            judged[s.run_pk].metrics[s.key] = run_gates.Summary(as_number(s.last_value), as_number(s.min_value),
                                                                as_number(s.max_value), s.last_step, s.last_ts)
    if gate is not None:  # the summaries above are all a verdict needs: gates.verdict over run_gates.outcomes
        for pk, row in by_pk.items():
            row["gate"] = gates.verdict(run_gates.outcomes(gate, judged[pk]))
    return [by_pk[pk] for pk in pks if pk in by_pk]


_RUN_COLUMNS = (Run.pk, Run.id, Run.name, Run.status, Run.start_time, Run.end_time, Run.locked)
_SERIES_COLUMNS = (MetricSeries.run_pk, MetricSeries.key, MetricSeries.count, MetricSeries.last_value,
                   MetricSeries.min_value, MetricSeries.max_value, MetricSeries.last_step, MetricSeries.last_ts)


def _base_row(run: Any, username: str | None, parent: tuple[str | None, str | None], now: int) -> dict:
    end = run.end_time if run.end_time is not None else now
    return {"id": run.id, "name": run.name, "status": run.status, "user": username or "",
            "start_time": validation.iso(run.start_time), "duration": round((end - run.start_time) / 1000, 1),
            "parent_run_id": parent[0], "parent": parent[1], "locked": run.locked}


def export_rows(core: Core, actor: Actor, experiment_id: str, sort_model: list | None = None,
                filter_model: dict | None = None, limit: int = MAX_EXPORT, top_level: bool = False) -> list[dict]:
    """Every row the table shows for this sort and filter (up to `limit`), fetched block by block."""
    rows: list[dict] = []
    while len(rows) < limit:
        block = fetch_rows(core, actor, experiment_id, len(rows), min(len(rows) + MAX_BLOCK, limit), sort_model,
                           filter_model, top_level)
        rows.extend(block["rowData"])
        if len(rows) >= block["rowCount"] or not block["rowData"]:
            break
    return rows
