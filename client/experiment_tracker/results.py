"""Read-side results: RunInfo (a run as the API returns it) and runs_dataframe's pandas table."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence


@dataclass
class RunInfo:
    """A run read back: `metrics` maps key → last value; `metric_summaries` has last/min/max/count."""

    id: str
    name: str
    status: str
    experiment_id: str
    parameters: Dict[str, str] = field(default_factory=dict)
    metrics: Dict[str, Optional[float]] = field(default_factory=dict)
    metric_summaries: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    tags: Dict[str, str] = field(default_factory=dict)
    artifacts: List[Dict[str, Any]] = field(default_factory=list)
    environment: Dict[str, Any] = field(default_factory=dict)
    git_commit: Optional[str] = None
    start_time: Optional[str] = None
    end_time: Optional[str] = None
    best: Optional[Dict[str, Any]] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Dict[str, Any]) -> "RunInfo":
        summaries = data.get("metrics") or {}
        return cls(id=data["id"], name=data.get("name", ""), status=data.get("status", ""),
                   experiment_id=data.get("experiment_id", ""), parameters=dict(data.get("parameters") or {}),
                   metrics={k: s.get("last") for k, s in summaries.items()}, metric_summaries=dict(summaries),
                   tags=dict(data.get("tags") or {}), artifacts=list(data.get("artifacts") or []),
                   environment=dict(data.get("environment") or {}), git_commit=data.get("git_commit"),
                   start_time=data.get("start_time"), end_time=data.get("end_time"), best=data.get("best"),
                   raw=data)


def _typed(values: List[Any]) -> List[Any]:
    """Params arrive as text: a column whose every value is a number (or missing) becomes numeric."""
    out: List[Any] = []
    for value in values:
        if value is None or value == "":
            out.append(None)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            return values
        out.append(int(number) if number.is_integer() and "." not in str(value) and "e" not in str(value).lower()
                   else number)
    return out


def runs_frame(runs: Iterable[Dict[str, Any]], summaries: Sequence[str] = ("last", "min", "max")) -> Any:
    """One row per run: run fields, params.<k>, metrics.<k> (last) and metrics.<k>.<min|max|count>."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("runs_dataframe needs pandas: pip install 'experiment-tracker-client[pandas]'") from None
    rows: List[Dict[str, Any]] = []
    param_keys: Dict[str, None] = {}
    for run in runs:
        row: Dict[str, Any] = {k: run.get(k) for k in ("id", "name", "status", "experiment_id", "parent_run_id",
                                                          "user_id", "start_time", "end_time", "duration_ms",
                                                          "git_commit")}
        for key, value in (run.get("parameters") or {}).items():
            row[f"params.{key}"] = value
            param_keys[f"params.{key}"] = None
        for key, value in (run.get("tags") or {}).items():
            row[f"tags.{key}"] = value
        for key, summary in (run.get("metrics") or {}).items():
            for name in summaries:
                column = f"metrics.{key}" if name == "last" else f"metrics.{key}.{name}"
                row[column] = summary.get(name)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    for column in param_keys:
        frame[column] = pd.Series(_typed(frame[column].where(frame[column].notna(), None).tolist()),
                                  index=frame.index)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce")
    return frame.set_index("id")
