"""AG Grid filter models (text, number, date; combined with AND/OR) as SQL conditions over one column."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql import ColumnElement

MAX_CONDITIONS = 4
DAY_MS = 86_400_000


def condition(expr: ColumnElement, model: dict, scale: float = 1.0) -> ColumnElement | None:
    """One column's filter model → a condition; unknown types and unusable values are ignored (None)."""
    conditions = model.get("conditions")
    if isinstance(conditions, list):
        parts = [c for c in (condition(expr, {"filterType": model.get("filterType"), **sub}, scale)
                             for sub in conditions[:MAX_CONDITIONS] if isinstance(sub, dict)) if c is not None]
        if not parts:
            return None
        return or_(*parts) if str(model.get("operator", "AND")).upper() == "OR" else and_(*parts)
    kind = model.get("filterType")
    if kind == "text":
        return _text(expr, model)
    if kind == "number":
        return _number(expr, model, scale)
    if kind == "date":
        return _date(expr, model)
    return None


def _blank(expr: ColumnElement, kind: str) -> ColumnElement | None:
    if kind == "blank":
        return expr.is_(None)
    if kind == "notBlank":
        return expr.is_not(None)
    return None


def _text(expr: ColumnElement, model: dict) -> ColumnElement | None:
    kind = model.get("type", "contains")
    blank = _blank(expr, kind)
    if blank is not None:
        return blank
    value = model.get("filter")
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value) == "":
        return None
    value = str(value)[:200]
    ops = {"contains": lambda: expr.icontains(value, autoescape=True),
           "notContains": lambda: or_(expr.is_(None), ~expr.icontains(value, autoescape=True)),
           "startsWith": lambda: expr.istartswith(value, autoescape=True),
           "endsWith": lambda: expr.iendswith(value, autoescape=True),
           "equals": lambda: expr.ilike(_escape(value), escape="\\"),
           "notEqual": lambda: or_(expr.is_(None), ~expr.ilike(_escape(value), escape="\\"))}
    return ops[kind]() if kind in ops else None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _number(expr: ColumnElement, model: dict, scale: float) -> ColumnElement | None:
    kind = model.get("type", "equals")
    blank = _blank(expr, kind)
    if blank is not None:
        return blank
    low, high = _num(model.get("filter")), _num(model.get("filterTo"))
    if low is None:
        return None
    low *= scale
    high = high * scale if high is not None else None
    return _compare(expr, kind, low, high)


def _compare(expr: ColumnElement, kind: str, low: float, high: float | None) -> ColumnElement | None:
    if kind == "inRange":
        return and_(expr >= low, expr <= high) if high is not None else None
    ops = {"equals": lambda: expr == low, "notEqual": lambda: or_(expr.is_(None), expr != low),
           "lessThan": lambda: expr < low, "lessThanOrEqual": lambda: expr <= low,
           "greaterThan": lambda: expr > low, "greaterThanOrEqual": lambda: expr >= low}
    return ops[kind]() if kind in ops else None


def _date_ms(value: Any) -> int | None:
    """AG Grid sends "YYYY-MM-DD hh:mm:ss" (local date, no zone); we read it as UTC midnight of that day."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        day = datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(day.timestamp() * 1000)


def _date(expr: ColumnElement, model: dict) -> ColumnElement | None:
    kind = model.get("type", "equals")
    blank = _blank(expr, kind)
    if blank is not None:
        return blank
    start, end = _date_ms(model.get("dateFrom")), _date_ms(model.get("dateTo"))
    if start is None:
        return None
    if kind == "equals":
        return and_(expr >= start, expr < start + DAY_MS)
    if kind == "notEqual":
        return or_(expr < start, expr >= start + DAY_MS)
    if kind == "lessThan":
        return expr < start
    if kind == "greaterThan":
        return expr >= start + DAY_MS
    if kind == "inRange":
        return and_(expr >= start, expr < end + DAY_MS) if end is not None else None
    return None
