"""Parallel coordinates over the compared runs: axes, brushing (constraint ranges) and their URL encoding."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from components.compare import PALETTE, is_number, metric_keys, numeric_params

MAX_BRUSHED_AXES = 100
MAX_CATEGORIES = 20  # a text param with more distinct values gets no axis (unreadable ticks)


def parcoords_dimensions(runs: list[dict]) -> list[tuple]:
    """[(kind, key[, categories])]: params by key (numeric ones as numbers, text ones with at most MAX_CATEGORIES
    values as a category axis), then metrics (last value), in a stable order the brushing relies on."""
    with_last = {k for r in runs for k, m in r["metrics"].items() if is_number((m or {}).get("last"))}
    numeric = numeric_params(runs)
    params = [("param", k) for k in numeric] + category_params(runs, set(numeric))
    return sorted(params, key=lambda dim: dim[1]) + [("metric", k) for k in metric_keys(runs) if k in with_last]


def category_params(runs: list[dict], numeric: set[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """("category", key, its values sorted) for each text param (not in `numeric`: numeric_params(runs)) with 1 to
    MAX_CATEGORIES distinct values."""
    values: dict[str, set[str]] = {}
    for run in runs:
        for key, value in run["params"].items():
            if key not in numeric:
                values.setdefault(key, set()).add(str(value))
    return [("category", key, tuple(sorted(found))) for key, found in sorted(values.items())
            if len(found) <= MAX_CATEGORIES]


def _raw_value(run: dict, dim: tuple | list) -> Any:
    kind, key = dim[0], dim[1]
    if kind == "metric":
        return (run["metrics"].get(key) or {}).get("last")
    value = run["params"].get(key)
    if kind == "category":  # the value's place among the axis's categories
        return float(dim[2].index(str(value))) if value is not None and str(value) in dim[2] else None
    return value


def dimension_value(run: dict, dim: tuple | list) -> float | None:
    value = _raw_value(run, dim)
    return float(value) if is_number(value) else None


def dimension_column(runs: list[dict], dim: tuple | list) -> np.ndarray:
    """The dimension's value for every run as float64, NaN where a run has none (sent as a compact typed array)."""
    raw = [_raw_value(r, dim) for r in runs]
    return np.array([float(v) if is_number(v) else math.nan for v in raw], dtype=np.float64)


def dimension_label(dim: tuple | list) -> str:
    return f"{dim[1]} (last)" if dim[0] == "metric" else dim[1]


def parcoords_figure(runs: list[dict], color_metric: str | None, constraints: dict | None = None,
                     dims: list[tuple] | None = None) -> go.Figure:
    """One axis per dimension (dims: parcoords_dimensions(runs), passed when already known); constraints
    ({str(index): [[lo, hi], ...]}) preset the brushed ranges. Values go out as float64 typed arrays."""
    dims = parcoords_dimensions(runs) if dims is None else dims
    fig = go.Figure()
    if dims:
        columns = []
        for i, dim in enumerate(dims):
            column = {"label": dimension_label(dim), "values": dimension_column(runs, dim)}
            if dim[0] == "category":
                column.update(tickvals=list(range(len(dim[2]))), ticktext=list(dim[2]),
                              range=[0, max(len(dim[2]) - 1, 1)])
            ranges = (constraints or {}).get(str(i))
            if ranges:
                column["constraintrange"] = ranges[0] if len(ranges) == 1 else ranges
            columns.append(column)
        colors = dimension_column(runs, ("metric", color_metric)) if color_metric else None
        line = {"color": np.nan_to_num(colors, nan=0.0), "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": {"text": color_metric or ""}, "thickness": 12}} \
            if colors is not None and not np.isnan(colors).all() else {"color": PALETTE[0]}
        fig.add_trace(go.Parcoords(dimensions=columns, line=line, labelangle=-20, labelside="top"))
    fig.update_layout(template="plotly_white", height=380, margin={"l": 60, "r": 60, "t": 90, "b": 30},
                      uirevision="parcoords")
    return fig


def merge_constraints(current: dict | None, restyle: Any) -> dict:
    """Fold a parcoords restyleData event ([{"dimensions[i].constraintrange": ranges}, [0]]) into
    {str(i): [[lo, hi], ...]}; a cleared axis (None) drops out."""
    merged = dict(current or {})
    if not isinstance(restyle, list) or not restyle or not isinstance(restyle[0], dict):
        return merged
    for prop, value in restyle[0].items():
        if not (prop.startswith("dimensions[") and prop.endswith("].constraintrange")):
            continue
        index = prop[len("dimensions["):-len("].constraintrange")]
        ranges = _ranges(value)
        if ranges:
            merged[index] = ranges
        else:
            merged.pop(index, None)
    return merged


def _ranges(value: Any) -> list[list[float]]:
    """[lo, hi] | [[lo, hi], ...] | [[[lo, hi], ...]] (plotly wraps restyle values per trace) → [[lo, hi], ...]."""
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list) \
            and value[0] and isinstance(value[0][0], list):
        value = value[0]
    if isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value):
        return [sorted(value)]
    if isinstance(value, list) and all(isinstance(r, list) and len(r) == 2 and all(is_number(v) for v in r)
                                       for r in value):
        return [sorted(r) for r in value]
    return []


def brushed(runs: list[dict], constraints: dict | None) -> list[dict]:
    """The runs inside every brushed axis range (a run without a value on a brushed axis is out)."""
    dims = parcoords_dimensions(runs)
    active = [(dims[int(i)], ranges) for i, ranges in (constraints or {}).items()
              if i.isdigit() and int(i) < len(dims)]
    if not active:
        return runs
    return [r for r in runs if all(_inside(dimension_value(r, dim), ranges) for dim, ranges in active)]


def _inside(value: float | None, ranges: list[list[float]]) -> bool:
    return value is not None and any(lo <= value <= hi for lo, hi in ranges)


# ---------------------------------------------------------------- brush ⇄ URL (keyed by axis label, not index)

def _num(value: float) -> str:
    return f"{value:.8g}"


def axis_labels(runs: list[dict], dims: list[tuple] | None = None) -> list[str]:
    return [dimension_label(dim) for dim in (parcoords_dimensions(runs) if dims is None else dims)]


def encode_brush(labels: list[str], constraints: dict | None) -> str:
    """{str(index): [[lo, hi], ...]} → "alpha~0.15_0.35,loss (last)~0.1_0.2~0.5_0.6": each brushed axis by its
    label (labels: axis_labels(runs)), so a link survives a different set of axes."""
    parts = []
    for index, ranges in sorted((constraints or {}).items(), key=lambda item: int(item[0]) if item[0].isdigit()
                                else -1):
        if index.isdigit() and int(index) < len(labels or []) and ranges:
            parts.append("~".join([labels[int(index)], *[f"{_num(lo)}_{_num(hi)}" for lo, hi in ranges]]))
    return ",".join(parts)


def decode_brush(labels: list[str], raw: Any) -> dict:
    """The inverse of encode_brush on these axes (labels: axis_labels(runs)); unknown labels and malformed ranges
    are dropped."""
    if not isinstance(raw, str) or not raw:
        return {}
    index_of = {label: str(i) for i, label in enumerate(labels)}
    out: dict[str, list[list[float]]] = {}
    for entry in raw.split(",")[:MAX_BRUSHED_AXES]:
        label, *texts = entry.split("~")
        ranges = [r for r in (_parse_range(t) for t in texts) if r is not None]
        if label in index_of and ranges:
            out[index_of[label]] = ranges
    return out


def _parse_range(text: str) -> list[float] | None:
    lo, sep, hi = text.partition("_")
    try:
        pair = [float(lo), float(hi)] if sep else []
    except ValueError:
        return None
    return sorted(pair) if len(pair) == 2 and all(math.isfinite(v) for v in pair) else None
