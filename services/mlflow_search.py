"""MLflow search: the parsed filter and order_by become SQL (runs and experiments); pages by offset token."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, String, and_, case, cast, literal, not_, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from db.models import Experiment, MetricSeries, Param, Project, Run, RunTag, User
from services.access import visible_project_ids
from services.context import Actor, Core
from services.errors import Invalid
from services.mlflow_store import DEFAULT_NAME, PARENT_TAG, RUN_COLUMNS, RUN_NAME_TAG, TAGS_SETTING, experiment_wire
from services.search_filter import NULL_OPS, NUMERIC_OPS, STRING_OPS, Clause, OrderKey, like_to_glob
from services.search_filter import parse_filter, parse_order_by

MAX_RUNS = 50_000
MAX_EXPERIMENTS = 50_000
VIEW_TYPES = {"ACTIVE_ONLY": "active", "1": "active", "DELETED_ONLY": "deleted", "2": "deleted",
              "ALL": "all", "3": "all"}


def view_type(raw: Any) -> str:
    view = VIEW_TYPES.get(str(raw).upper() if raw not in (None, "") else "ACTIVE_ONLY")
    if view is None:
        raise Invalid(f"Invalid view type {raw!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL", "view_type")
    return view


def encode_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.b64decode(token.encode(), validate=True))["offset"]
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise Invalid(f"Invalid page token {token[:40]!r}", "page_token") from None
    if not isinstance(offset, int) or offset < 0:
        raise Invalid(f"Invalid page token {token[:40]!r}", "page_token")
    return offset


def check_max_results(value: int | None, default: int, maximum: int) -> int:
    value = default if value is None else value
    if not 1 <= value <= maximum:
        raise Invalid(f"Invalid value {value} for parameter 'max_results' supplied: it must be between 1 and "
                      f"{maximum}", "max_results")
    return value


def string_condition(column: Any, clause: Clause, dialect: str) -> ColumnElement:
    op, value = clause.op, clause.value
    if op not in STRING_OPS:
        raise Invalid(f"{clause.entity} {clause.key!r}: operator {op} is not supported for strings "
                      f"(use {', '.join(STRING_OPS)})", "filter")
    if op in ("IN", "NOT IN"):
        return column.in_(value) if op == "IN" else column.not_in(value)
    if not isinstance(value, str):
        raise Invalid(f"{clause.entity} {clause.key!r}: compare with a quoted string, e.g. '{value}'", "filter")
    if op == "LIKE":
        return column.op("GLOB")(like_to_glob(value)) if dialect == "sqlite" else column.like(value)
    if op == "ILIKE":
        return column.ilike(value)
    return column == value if op == "=" else column != value


def numeric_condition(column: Any, clause: Clause) -> ColumnElement:
    if clause.op not in NUMERIC_OPS or not isinstance(clause.value, float):
        raise Invalid(f"{clause.entity} {clause.key!r}: compare with a number using {', '.join(NUMERIC_OPS)}",
                      "filter")
    value = clause.value
    return {"=": column == value, "!=": column != value, ">": column > value, ">=": column >= value,
            "<": column < value, "<=": column <= value}[clause.op]


def _metric_condition(clause: Clause, dialect: str) -> ColumnElement:
    """IN (SELECT run_pk ...): a hash semi-join whatever the planner's row estimates, never a scan per run."""
    s = aliased(MetricSeries)
    runs_with = select(s.run_pk).where(s.key == clause.key)
    if clause.op in NULL_OPS:
        return Run.pk.in_(runs_with) if clause.op == "IS NOT NULL" else Run.pk.not_in(runs_with)
    return Run.pk.in_(runs_with.where(_metric_value_condition(s, clause, dialect)))


def _metric_value_condition(series: Any, clause: Clause, dialect: str) -> ColumnElement:
    condition = numeric_condition(series.last_value, clause)
    if dialect == "postgresql":  # Postgres orders NaN above every number; MLflow never matches NaN
        condition = and_(condition, series.last_value != cast(literal("NaN"), Float))
    return condition


def _keyed_condition(model: Any, clause: Clause, dialect: str) -> ColumnElement:
    row = aliased(model)
    runs_with = select(row.run_pk).where(row.key == clause.key)
    if clause.op in NULL_OPS:
        return Run.pk.in_(runs_with) if clause.op == "IS NOT NULL" else Run.pk.not_in(runs_with)
    return Run.pk.in_(runs_with.where(string_condition(row.value, clause, dialect)))


def _tag_condition(clause: Clause, dialect: str) -> ColumnElement:
    if clause.key == RUN_NAME_TAG:
        return _attribute_condition(Clause("attribute", "run_name", clause.op, clause.value), dialect)
    condition = _keyed_condition(RunTag, clause, dialect)
    if clause.key == PARENT_TAG and clause.op not in NULL_OPS:
        parent = aliased(Run)
        condition = or_(condition, Run.parent_pk.in_(select(parent.pk).where(
            string_condition(parent.id, clause, dialect))))
    return condition


_RUN_STRING_ATTRS = {"run_id": Run.id, "run_uuid": Run.id, "run_name": Run.name, "status": Run.status}
_RUN_NUMBER_ATTRS = {"start_time": Run.start_time, "end_time": Run.end_time, "created": Run.start_time}


def _attribute_condition(clause: Clause, dialect: str) -> ColumnElement:
    key = clause.key
    if key in _RUN_STRING_ATTRS:
        return string_condition(_RUN_STRING_ATTRS[key], clause, dialect)
    if key in _RUN_NUMBER_ATTRS:
        return numeric_condition(_RUN_NUMBER_ATTRS[key], clause)
    if key == "user_id":
        return Run.user_id.in_(select(User.id).where(string_condition(User.username, clause, dialect)))
    if key == "lifecycle_stage" and clause.op in ("=", "!=") and clause.value in ("active", "deleted"):
        deleted = (clause.value == "deleted") == (clause.op == "=")
        return Run.deleted_at.is_not(None) if deleted else Run.deleted_at.is_(None)
    raise Invalid(f"attribute {key!r} cannot be searched (use run_id, run_name, status, user_id, start_time, "
                  "end_time)", "filter")


def run_condition(clause: Clause, dialect: str) -> ColumnElement:
    if clause.entity == "metric":
        return _metric_condition(clause, dialect)
    if clause.entity == "param":
        return _keyed_condition(Param, clause, dialect)
    if clause.entity == "tag":
        return _tag_condition(clause, dialect)
    if clause.entity == "attribute":
        return _attribute_condition(clause, dialect)
    raise Invalid(f"searching by {clause.entity} is not supported", "filter")


_KEYED = {"metric": (MetricSeries, MetricSeries.last_value), "param": (Param, Param.value),
          "tag": (RunTag, RunTag.value)}


def _run_order(stmt: Any, keys: list[OrderKey], dialect: str) -> tuple[Any, list, dict]:
    """ORDER BY for runs: each metric/param/tag key is one LEFT JOIN (not a subquery per row); returns the
    joined statement, the ordering (a total order: it ends with the unique run id) and the joined tables."""
    joined: dict[tuple[str, str], Any] = {}
    for key in keys:
        if key.entity in _KEYED and not (key.entity == "tag" and key.key == RUN_NAME_TAG) \
                and (key.entity, key.key) not in joined:
            model = aliased(_KEYED[key.entity][0])
            stmt = stmt.outerjoin(model, and_(model.run_pk == Run.pk, model.key == key.key))
            joined[(key.entity, key.key)] = model

    def column_for(key: OrderKey) -> Any:
        model = joined.get((key.entity, key.key))
        if model is not None:
            return model.last_value if key.entity == "metric" else model.value
        return _run_order_column(key)

    def logged_for(key: OrderKey) -> Any:
        return joined[(key.entity, key.key)].run_pk.is_not(None)

    return stmt, [*_ordering(keys, column_for, dialect, logged_for), Run.start_time.desc(), Run.id], joined


def _run_order_column(key: OrderKey) -> Any:
    if key.entity == "tag" and key.key == RUN_NAME_TAG:
        return Run.name
    if key.entity == "attribute":
        column = {**_RUN_STRING_ATTRS, **_RUN_NUMBER_ATTRS, "user_id": Run.user_id}.get(key.key)
        if column is not None:
            return column
    raise Invalid(f"cannot order by {key.entity} {key.key!r}", "order_by")


def _ordering(keys: list[OrderKey], column_for: Any, dialect: str = "", logged_for: Any = None) -> list:
    """Rows missing the value sort last either way, as MLflow does; a NaN metric sorts just before them
    (Postgres keeps NaN, SQLite a NULL in a series that has points)."""
    clauses: list = []
    for key in keys:
        column = column_for(key)
        if key.entity == "metric":
            logged = logged_for(key)
            nan = column == cast(literal("NaN"), Float) if dialect == "postgresql" else column.is_(None)
            clauses.append(case((not_(logged), 2), (nan, 1), else_=0))
        else:
            clauses.append(case((column.is_(None), 1), else_=0))
        clauses.append(column.asc() if key.ascending else column.desc())
    return clauses


@dataclass
class RunSearch:
    """A checked runs/search request: experiment ids resolved, filter and order parsed, page decoded."""

    ids: list[str]
    view: str
    clauses: list[Clause]
    order: list[OrderKey]
    limit: int
    offset: int

    def next_token(self, more: bool) -> str | None:
        return encode_token(self.offset + self.limit) if more else None


def run_select(search: RunSearch, actor: Actor, dialect: str) -> tuple[Any, list]:
    """The filtered runs (RUN_COLUMNS) with the order-by joins, and the ordering to apply."""
    stmt = (select(*RUN_COLUMNS).join(Experiment, Experiment.id == Run.experiment_id)
            .where(Run.experiment_id.in_(search.ids), Experiment.project_id.in_(visible_project_ids(actor))))
    deleted = or_(Run.deleted_at.is_not(None), Experiment.deleted_at.is_not(None))
    if search.view != "all":
        stmt = stmt.where(deleted if search.view == "deleted" else not_(deleted))
    stmt, ordering, joined = _run_order(stmt, search.order, dialect)
    for clause in search.clauses:
        series = joined.get(("metric", clause.key)) if clause.entity == "metric" else None
        if series is not None and clause.op not in NULL_OPS:  # filtered and ordered by one metric: one join
            stmt = stmt.where(_metric_value_condition(series, clause, dialect))
        else:
            stmt = stmt.where(run_condition(clause, dialect))
    return stmt, ordering


def _experiment_name_column() -> Any:
    return case((Project.name == DEFAULT_NAME, Experiment.name),
                else_=Project.name + literal("/", String) + Experiment.name)


_EXP_NUMBER_ATTRS = {"creation_time": Experiment.created_at, "last_update_time": Experiment.updated_at}


def _experiment_condition(clause: Clause, dialect: str) -> ColumnElement:
    if clause.entity == "tag":
        if clause.key == "mlflow.note.content":
            column: Any = Experiment.description
        else:
            column = Experiment.settings[(TAGS_SETTING, clause.key)].as_string()
        if clause.op in NULL_OPS:
            return column.is_(None) if clause.op == "IS NULL" else column.is_not(None)
        return and_(column.is_not(None), string_condition(column, clause, dialect))
    if clause.entity == "attribute" and clause.key == "name":
        return string_condition(_experiment_name_column(), clause, dialect)
    if clause.entity == "attribute" and clause.key in ("experiment_id", "id"):
        return string_condition(Experiment.id, clause, dialect)
    if clause.entity == "attribute" and clause.key in _EXP_NUMBER_ATTRS:
        return numeric_condition(_EXP_NUMBER_ATTRS[clause.key], clause)
    raise Invalid(f"experiments cannot be searched by {clause.entity} {clause.key!r} (use name, creation_time, "
                  "last_update_time, tags.<key>)", "filter")


def _experiment_order_column(key: OrderKey) -> Any:
    if key.entity == "attribute" and key.key == "name":
        return _experiment_name_column()
    if key.entity == "attribute" and key.key in ("experiment_id", "id"):
        return Experiment.id
    if key.entity == "attribute" and key.key in _EXP_NUMBER_ATTRS:
        return _EXP_NUMBER_ATTRS[key.key]
    raise Invalid(f"cannot order experiments by {key.entity} {key.key!r}", "order_by")


def search_experiments(core: Core, actor: Actor, view: Any = None, max_results: int | None = None,
                       filter_string: str | None = None, order_by: list[str] | None = None,
                       page_token: str | None = None) -> tuple[list[dict], str | None]:
    limit = check_max_results(max_results, 1000, MAX_EXPERIMENTS)
    offset, which = decode_token(page_token), view_type(view)
    clauses = parse_filter(filter_string, default_entity="attribute")
    order = parse_order_by(order_by, default_entity="attribute")
    with core.sessions() as session:
        dialect = session.get_bind().dialect.name
        stmt = (select(Experiment, Project).join(Project, Project.id == Experiment.project_id)
                .where(Experiment.project_id.in_(visible_project_ids(actor))))
        if which != "all":
            stmt = stmt.where(Experiment.deleted_at.is_(None) if which == "active"
                              else Experiment.deleted_at.is_not(None))
        for clause in clauses:
            stmt = stmt.where(_experiment_condition(clause, dialect))
        ordering = _ordering(order, _experiment_order_column) if order else [Experiment.created_at.desc()]
        rows = session.execute(stmt.order_by(*ordering, Experiment.id).offset(offset).limit(limit + 1)).all()
        items = [experiment_wire(exp, project) for exp, project in rows[:limit]]
    return items, encode_token(offset + limit) if len(rows) > limit else None
