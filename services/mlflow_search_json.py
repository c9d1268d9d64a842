"""runs/search pages: the checked request, the page's runs, and the page as MLflow JSON (built in SQL on Postgres)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import (BigInteger, Boolean, Integer, String, Text, bindparam, case, cast, column, func, literal,
                        literal_column, select, table, text, union_all)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from db.models import MetricSeries, Param, Run, RunTag, User
from services.context import Actor, Core
from services.mlflow_search import (MAX_RUNS, RunSearch, check_max_results, decode_token, run_select,
                                    view_type)
from services.mlflow_store import (DEFAULT_ID, PARENT_TAG, RUN_COLUMNS, RUN_NAME_TAG, USER_TAG,
                                   default_experiment_id, wire_runs)
from services.search_filter import parse_filter, parse_order_by


def _experiment_ids(core: Core, actor: Actor, experiment_ids: list[str]) -> list[str]:
    ids = []
    for experiment_id in experiment_ids:
        if experiment_id == DEFAULT_ID:
            resolved = default_experiment_id(core, actor, create=False)
            if resolved:
                ids.append(resolved)
        else:
            ids.append(experiment_id)
    return ids


def run_search(core: Core, actor: Actor, experiment_ids: list[str], filter_string: str | None = None,
               run_view_type: Any = None, max_results: int | None = None, order_by: list[str] | None = None,
               page_token: str | None = None) -> RunSearch:
    limit = check_max_results(max_results, 1000, MAX_RUNS)
    offset, view = decode_token(page_token), view_type(run_view_type)
    clauses, order = parse_filter(filter_string), parse_order_by(order_by)
    return RunSearch(_experiment_ids(core, actor, experiment_ids), view, clauses, order, limit, offset)


def search_runs(core: Core, actor: Actor, experiment_ids: list[str], filter_string: str | None = None,
                run_view_type: Any = None, max_results: int | None = None, order_by: list[str] | None = None,
                page_token: str | None = None) -> tuple[list[dict], str | None]:
    """A page of MLflow Run dicts and the next page's token (None on the last page)."""
    search = run_search(core, actor, experiment_ids, filter_string, run_view_type, max_results, order_by,
                        page_token)
    if not search.ids:
        return [], None
    with core.sessions() as session:
        stmt, ordering = run_select(search, actor, session.get_bind().dialect.name)
        rows = session.execute(stmt.order_by(*ordering).offset(search.offset).limit(search.limit + 1)).all()
        runs = wire_runs(session, rows[:search.limit])
    return runs, search.next_token(len(rows) > search.limit)


def search_runs_json(core: Core, actor: Actor, experiment_ids: list[str], filter_string: str | None = None,
                     run_view_type: Any = None, max_results: int | None = None, order_by: list[str] | None = None,
                     page_token: str | None = None) -> tuple[str, str | None]:
    """search_runs with the runs as one JSON array text: Postgres writes it in SQL, SQLite via wire_runs."""
    search = run_search(core, actor, experiment_ids, filter_string, run_view_type, max_results, order_by,
                        page_token)
    if not search.ids:
        return "[]", None
    with core.sessions() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            if search.limit >= SPLIT_AT:
                text, more = _split_page(core, session, search, actor)
            else:
                text, more = session.execute(_page_statement(search, actor),
                                             page_params(search.offset, search.limit)).one()
            return text, search.next_token(more)
        stmt, ordering = run_select(search, actor, dialect)
        rows = session.execute(stmt.order_by(*ordering).offset(search.offset).limit(search.limit + 1)).all()
        text = json.dumps(wire_runs(session, rows[:search.limit]), separators=(",", ":"))
    return text, search.next_token(len(rows) > search.limit)


def _text(value: Any) -> Any:
    """A value as JSON text: strings quoted and escaped, numbers as digits, float8 NaN/±Infinity quoted."""
    return cast(func.to_json(value), Text)


def _grouped(name: str, rows: Any, item: Any, *where: Any, first: Any = None) -> Any:
    """CTE `name`: (run_pk, '[item,item,...]' in key codepoint order) per run with rows; `rows` has run_pk and key.
    The rows are sorted once in a subquery and string_agg takes them in that order (the GROUP BY is the only step
    above it, so nothing reorders them): an ORDER BY inside the aggregate ran one small sort per run (~10 ms a
    page of 1,000). With `first`, only the row of a (run, key) that sorts first by it is kept (DISTINCT ON)."""
    key = rows.c.key.collate("C")
    ordered = select(rows.c.run_pk, item.label("j")).where(*where)
    if first is None:
        ordered = ordered.order_by(rows.c.run_pk, key)
    else:
        ordered = ordered.distinct(rows.c.run_pk, key).order_by(rows.c.run_pk, key, first)
    ordered = ordered.subquery()
    joined = literal("[") + func.string_agg(ordered.c.j, literal_column("','")) + literal("]")
    return select(ordered.c.run_pk, joined.label("j")).group_by(ordered.c.run_pk).cte(name)


def _pair(key: Any, value: Any) -> Any:
    return func.concat('{"key":', _text(key), ',"value":', _text(value), "}")


def _tag_rows(shown: Any) -> Any:
    """Stored tags (stored = 0), and mlflow.runName / parentRunId / user of every run (stored = 1): _grouped keeps
    a stored tag over the made-up one of the same key (setdefault) without a per-key anti-join."""
    parent = aliased(Run)
    made_up = literal(1).label("stored")
    return union_all(
        select(RunTag.run_pk, RunTag.key, RunTag.value, literal(0).label("stored"))
        .where(RunTag.run_pk.in_(select(shown.c.pk))),
        select(shown.c.pk, literal(RUN_NAME_TAG), shown.c.name, made_up),
        select(shown.c.pk, literal(PARENT_TAG), select(parent.id).where(parent.pk == shown.c.parent_pk)
               .scalar_subquery(), made_up).where(shown.c.parent_pk.is_not(None)),
        select(shown.c.pk, literal(USER_TAG), User.username, made_up).join(User, User.id == shown.c.user_id)
    ).subquery("tag_rows")


def _aggregates(shown: Any) -> tuple[Any, Any, Any]:
    """Per run_pk of the page, as JSON array text: metrics (latest value of each series with points), params
    and tags, each sorted by key in codepoint order (Python's sort) whatever the database's collation."""
    s = MetricSeries
    value = func.coalesce(_text(s.last_value), '"NaN"')
    metric = func.concat('{"key":', _text(s.key), ',"value":', value, ',"timestamp":', s.last_ts, ',"step":',
                         s.last_step, "}")
    metrics = _grouped("page_metrics", s.__table__, metric, s.run_pk.in_(select(shown.c.pk)), s.count > 0)
    params = _grouped("page_params", Param.__table__, _pair(Param.key, Param.value),
                      Param.run_pk.in_(select(shown.c.pk)))
    t = _tag_rows(shown)
    tags = _grouped("page_tags", t, _pair(t.c.key, t.c.value), first=t.c.stored)
    return metrics, params, tags


def _info(shown: Any) -> Any:
    """run_info as JSON text: user_id only for a named owner, end_time only when set (concat skips NULLs)."""
    c = shown.c
    return func.concat(
        '{"run_id":', _text(c.id), ',"run_uuid":', _text(c.id), ',"run_name":', _text(c.name),
        ',"experiment_id":', _text(c.experiment_id), ',"status":', _text(c.status), ',"start_time":', c.start_time,
        ',"artifact_uri":', _text(func.concat("mlflow-artifacts:/", c.experiment_id, "/", c.id, "/artifacts")),
        ',"lifecycle_stage":', case((c.deleted_at.is_not(None), '"deleted"'), else_='"active"'),
        literal(',"user_id":') + _text(func.nullif(User.username, "")),
        literal(',"end_time":') + cast(c.end_time, Text), "}")


def _data(metrics: Any, params: Any, tags: Any) -> Any:
    """{"metrics", "params", "tags"}: metrics and params left out when the run has none, as wire_runs does."""
    return func.concat("{", literal('"metrics":') + metrics.c.j + literal(","),
                       literal('"params":') + params.c.j + literal(","),
                       '"tags":', func.coalesce(tags.c.j, "[]"), "}")


# The page's runs as a named table: the JSON part of the statement refers to the CTE "shown" by name, so it is
# built once here and not per request (building it per request cost ~10 ms of Python).
_SHOWN = table("shown", *(column(name, type_) for name, type_ in (
    ("pk", Integer()), ("id", String()), ("name", String()), ("experiment_id", String()), ("status", String()),
    ("start_time", BigInteger()), ("end_time", BigInteger()), ("deleted_at", BigInteger()), ("user_id", String()),
    ("parent_pk", Integer()), ("ord", BigInteger()))))


def _page_runs_json() -> Any:
    """SELECT the page's runs (from "shown") as one JSON array text, in "shown".ord order; '[]' for none."""
    metrics, params, tags = _aggregates(_SHOWN)
    run = func.concat('{"info":', _info(_SHOWN), ',"data":', _data(metrics, params, tags), ',"inputs":{}}')
    runs = func.concat("[", func.string_agg(run, aggregate_order_by(literal_column("','"), _SHOWN.c.ord)), "]")
    return (select(runs.label("runs")).select_from(_SHOWN.outerjoin(User, User.id == _SHOWN.c.user_id)
                                      .outerjoin(metrics, metrics.c.run_pk == _SHOWN.c.pk)
                                      .outerjoin(params, params.c.run_pk == _SHOWN.c.pk)
                                      .outerjoin(tags, tags.c.run_pk == _SHOWN.c.pk)))


# The JSON part as SQL text, compiled once (its only values are this module's constants) and reading the CTE
# "shown" by name (its ':' escaped for text()); a request adds only that: building and cache-keying the whole
# statement per request cost ~4 ms of Python.
_RUNS_SQL = str(_page_runs_json().compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
                ).replace(":", chr(92) + ":")
# Columns: the runs' JSON array text, whether a next page exists (CTEs "page" and "shown" come with the request).
_PAGE_RUNS_TEXT = text("SELECT page_json.runs, EXISTS (SELECT * FROM page WHERE page.ord > :shown_count) AS more "
                       f"FROM ({_RUNS_SQL}) AS page_json").columns(column("runs", Text), column("more", Boolean))
# The runs of the given pks (a list, in that order) as one JSON array text.
assert _RUNS_SQL.startswith("WITH ")  # its own CTEs follow "shown" in one WITH list
_RUNS_OF_PKS = text(f"WITH shown AS (SELECT {', '.join(f'runs.{c.key}' for c in RUN_COLUMNS)}, "
                    "array_position(CAST(:pks AS integer[]), runs.pk) AS ord FROM runs "  # pk index, no hash of runs
                    f"WHERE runs.pk = ANY(CAST(:pks AS integer[]))), {_RUNS_SQL[len('WITH '):]}"
                    ).columns(column("runs", Text))


def _limited(stmt: Any, ordering: list) -> Any:
    """The ordered runs from page_params' offset, as many as its page_fetch (a top-N sort, not a full sort)."""
    return (stmt.order_by(*ordering).offset(bindparam("page_offset", type_=Integer))
            .limit(bindparam("page_fetch", type_=Integer)).subquery("limited"))


def page_json_select(stmt: Any, ordering: list) -> Any:
    """One Postgres statement → (JSON array text of the page's MLflow Runs in order, whether a next page exists);
    the page's place comes with the execution, as page_params(offset, limit).

    `stmt` selects RUN_COLUMNS of the filtered runs; `ordering` is its total order. The page and one row more come
    from ORDER BY ... LIMIT (a top-N sort, not a full sort) and are numbered in that order by row_number() OVER ()
    one level up, where nothing else happens; the runs up to `limit` are written as text (concat and string_agg,
    to_json only to quote values: the same page through json_build_object/json_agg took ~1.5x as long)."""
    limited = _limited(stmt, ordering)
    page = select(limited, func.row_number().over().label("ord")).cte("page")
    shown = select(page).where(page.c.ord <= bindparam("page_limit", type_=Integer)).cte("shown")
    return _PAGE_RUNS_TEXT.add_cte(page, shown)


def page_pks_select(stmt: Any, ordering: list) -> Any:
    """The pks of the page's runs and one more, in order (page_params bind the page's place)."""
    limited = _limited(stmt, ordering)
    return select(limited.c.pk)


def page_params(offset: int, limit: int) -> dict[str, int]:
    return {"page_offset": offset, "page_fetch": limit + 1, "page_limit": limit, "shown_count": limit}


SPLIT_AT = 200  # a page asking for this many runs or more is written as JSON by two connections at once
_WRITERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="runs-json")


def _split_page(core: Core, session: Any, search: RunSearch, actor: Actor) -> tuple[str, bool]:
    """The page's run pks in order (one statement), then each half written as JSON on its own connection at the
    same time: Postgres spends most of a page of 1,000 writing it (~30 ms), and two backends share that out.
    Each statement reads committed data as of its start, as the single-statement page's parts would."""
    pks = list(session.execute(_page_statement(search, actor, pks_only=True),
                               page_params(search.offset, search.limit)).scalars())
    more, pks = len(pks) > search.limit, pks[:search.limit]
    if len(pks) < SPLIT_AT:
        return session.execute(_RUNS_OF_PKS, {"pks": pks}).scalar_one(), more
    half = (len(pks) + 1) // 2
    second = _WRITERS.submit(_runs_json, core, pks[half:])
    first = session.execute(_RUNS_OF_PKS, {"pks": pks[:half]}).scalar_one()
    return first[:-1] + "," + second.result()[1:], more


def _runs_json(core: Core, pks: list[int]) -> str:
    with core.sessions() as session:
        return session.execute(_RUNS_OF_PKS, {"pks": pks}).scalar_one()


_STATEMENTS: dict[tuple, Any] = {}  # a search's shape (who, where, filter, order) → its page statement
_STATEMENTS_MAX = 256


def _page_statement(search: RunSearch, actor: Actor, pks_only: bool = False) -> Any:
    """page_json_select (or page_pks_select) for this search, built once per shape: building it (run_select, the
    CTEs) and keying SQLAlchemy's compiled cache cost ~8 ms of Python a page. The key holds everything the
    statement embeds: experiments, view, parsed filter and order (their values included), the actor's visibility."""
    build = page_pks_select if pks_only else page_json_select
    key = (tuple(search.ids), search.view, tuple(search.clauses), tuple(search.order), actor.is_admin,
           tuple(sorted(actor.team_ids)), pks_only)
    try:
        statement = _STATEMENTS.get(key)
    except TypeError:  # a filter value that cannot be a key: build it every time
        return build(*run_select(search, actor, "postgresql"))
    if statement is None:
        statement = build(*run_select(search, actor, "postgresql"))
        if len(_STATEMENTS) >= _STATEMENTS_MAX:
            _STATEMENTS.clear()
        _STATEMENTS[key] = statement
    return statement
