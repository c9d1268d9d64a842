"""AG Grid builders: the project and experiment lists (client-side) and the run table (infinite row model)."""
from __future__ import annotations

import dash_ag_grid as dag

from components import ids

AGG_LABELS = {"last": "", "min": " (min)", "max": " (max)"}
TIME = {"function": "etTime(params.value)"}
TEXT_FILTER = {"filter": "agTextColumnFilter",
               "filterParams": {"debounceMs": 400, "maxNumConditions": 1,
                                "filterOptions": ["contains", "notContains", "equals", "startsWith", "blank",
                                                  "notBlank"]}}
NUMBER_FILTER = {"filter": "agNumberColumnFilter",
                 "filterParams": {"debounceMs": 400, "maxNumConditions": 1,
                                  "filterOptions": ["equals", "notEqual", "lessThan", "lessThanOrEqual", "greaterThan",
                                                    "greaterThanOrEqual", "inRange", "blank", "notBlank"]}}
DATE_FILTER = {"filter": "agDateColumnFilter",
               "filterParams": {"maxNumConditions": 1,
                                "filterOptions": ["equals", "lessThan", "greaterThan", "inRange", "blank"]}}
# a run's safety-gate verdict (services.run_table judges it per page); computed, so neither sorted nor filtered
GATE_COLUMN = {"field": "gate", "headerName": "Gate", "cellRenderer": "StatusBadge", "width": 135,
               "sortable": False, "filter": False, "headerTooltip": "Safety gate: the experiment's validation criteria"}
GATE_ROW_CLASSES = {"gate-failed-row": "params.data && params.data.gate === 'failed'"}
# shared by the (up to hundreds of) param and metric columns: the grid converts each function string once
RUN_COLUMN_TYPES = {"etMetric": {"width": 140, "valueFormatter": {"function": "etNumber(params.value)"},
                               **NUMBER_FILTER},
                    "etParam": {"width": 130, **NUMBER_FILTER}, "etText": {"width": 130, **TEXT_FILTER}}
LIST_GRID_OPTIONS = {"domLayout": "autoHeight", "suppressCellFocus": True, "animateRows": False,
                     "localeText": {"noRowsToShow": "Nothing matches these filters."}}


def _link(field: str, header: str, prefix: str, **extra: object) -> dict:
    return {"field": field, "headerName": header, "cellRenderer": "RowLink",
            "cellRendererParams": {"prefix": prefix}, **extra}


def projects_grid(rows: list[dict]) -> dag.AgGrid:
    columns = [_link("name", "Project", "/projects/", flex=2, minWidth=200, sort="asc"),
               {"field": "team", "headerName": "Team", "flex": 1, "minWidth": 120},
               {"field": "tags_text", "headerName": "Tags", "flex": 1, "minWidth": 120},
               {"field": "experiment_count", "headerName": "Experiments", "type": "numericColumn", "width": 130},
               {"field": "run_count", "headerName": "Runs", "type": "numericColumn", "width": 100},
               {"field": "last_activity", "headerName": "Last activity", "valueFormatter": TIME, "width": 170},
               {"field": "description", "headerName": "Description", "flex": 2, "minWidth": 160}]
    data = [{**row, "tags_text": ", ".join(row.get("tags") or [])} for row in rows]
    return dag.AgGrid(id=ids.PROJECTS_GRID, rowData=data, columnDefs=columns, getRowId="params.data.id",
                      defaultColDef={"sortable": True, "resizable": True}, dashGridOptions=LIST_GRID_OPTIONS,
                      className="ag-theme-quartz et-grid", style={"height": None})


def best_columns(metric: str | None, mode: str | None) -> list[dict]:
    """"best <metric>" (the best run's last value, its run in the tooltip) and that run, linked."""
    if not metric:
        return []
    direction = "highest" if mode == "max" else "lowest"
    return [{"field": "best_value", "headerName": f"best {metric}", "type": "numericColumn", "width": 150,
             "valueFormatter": {"function": "etNumber(params.value)"}, "tooltipField": "best_run_name",
             "headerTooltip": f"The {direction} last logged {metric} among the experiment's runs"},
            {"field": "best_run", "headerName": "Best run", "cellRenderer": "markdown", "width": 150,
             "tooltipField": "best_run_name", "sortable": False}]


def experiment_rows(rows: list[dict], best: dict[str, dict]) -> list[dict]:
    """Grid rows: each experiment with its best run's value and a link to that run; last activity falls back to
    the experiment's own last change when it has no runs."""
    out = []
    for row in rows:
        hit = best.get(row["id"]) or {}
        name = hit.get("run_name") or (hit.get("run_id") or "")[:8]
        link = f"[{name.replace('[', '(').replace(']', ')')}](/runs/{hit['run_id']})" if hit else ""
        out.append({**row, "last_activity": row.get("last_activity") or row.get("updated_at"),
                    "best_value": hit.get("value"), "best_run": link, "best_run_name": name or None})
    return out


def experiments_grid(rows: list[dict], metric: str | None = None, mode: str | None = None) -> dag.AgGrid:
    """Experiments with checkboxes (pick some to compare), best value of the chosen metric, last activity."""
    options = {**LIST_GRID_OPTIONS, "tooltipShowDelay": 300,
               "rowSelection": {"mode": "multiRow", "checkboxes": True, "headerCheckbox": False,
                                "enableClickSelection": False},
               "selectionColumnDef": {"width": 48, "pinned": "left"}}
    return dag.AgGrid(id=ids.PROJECT_GRID, rowData=rows, columnDefs=experiment_column_defs(metric, mode),
                      getRowId="params.data.id", defaultColDef={"sortable": True, "resizable": True},
                      dashGridOptions=options, className="ag-theme-quartz et-grid", style={"height": None})


def experiment_column_defs(metric: str | None, mode: str | None) -> list[dict]:
    return [_link("name", "Experiment", "/experiments/", flex=2, minWidth=180),
            {"field": "status", "headerName": "Status", "cellRenderer": "StatusBadge", "width": 110},
            {"field": "hypothesis", "headerName": "Hypothesis", "flex": 3, "minWidth": 150,
             "tooltipField": "hypothesis"},
            {"field": "run_count", "headerName": "Runs", "type": "numericColumn", "width": 90},
            *best_columns(metric, mode),
            {"field": "last_activity", "headerName": "Last activity", "valueFormatter": TIME, "width": 150,
             "sort": "desc"},
            {"field": "created_at", "headerName": "Created", "valueFormatter": TIME, "width": 150}]


def run_column_defs(columns: dict, aggregates: list[str], sort: list[tuple[str, str]],
                    hidden: list[str] | None = None) -> list[dict]:
    """Fixed columns (Gate when the experiment has criteria), then one per param key and one per metric key and
    aggregate; sort applied from the URL; `hidden` columns ("user", "p:<param>", "m:<metric>") hidden."""
    order = {col: (direction, index) for index, (col, direction) in enumerate(sort)}
    fixed = [_link("name", "Run", "/runs/", pinned="left", width=220, **TEXT_FILTER),
             {"field": "status", "headerName": "Status", "cellRenderer": "StatusBadge", "width": 130, **TEXT_FILTER},
             *([GATE_COLUMN] if columns.get("gated") else []),
             {"field": "user", "headerName": "User", "width": 120, **TEXT_FILTER},
             {"field": "start_time", "headerName": "Started", "valueFormatter": TIME, "width": 170, **DATE_FILTER},
             {"field": "duration", "headerName": "Duration", "width": 150, "type": "numericColumn",
              "valueFormatter": {"function": "etDuration(params.value)"}, **NUMBER_FILTER},
             {"field": "parent", "headerName": "Parent run", "width": 140, "sortable": False, "filter": False,
              "cellRenderer": "ParentLink"}]
    params = [{"field": f"p:{p['key']}", "headerName": p["key"], "type": "etParam" if p["numeric"] else "etText"}
              for p in columns.get("params", [])]
    metrics = [{"field": f"m:{key}:{agg}", "headerName": key + AGG_LABELS[agg], "type": ["numericColumn", "etMetric"]}
               for key in columns.get("metrics", []) for agg in ["last", *[a for a in aggregates if a != "last"]]]
    defs = fixed + ([{"headerName": "Parameters", "children": params}] if params else []) \
        + ([{"headerName": "Metrics", "children": metrics}] if metrics else [])
    return [_with_hidden(_with_sort(col, order), set(hidden or ())) for col in defs]


def _with_hidden(col: dict, hidden: set[str]) -> dict:
    """hide: True on a hidden column (a metric's key hides all its aggregates); AG Grid keeps its width and sort."""
    if "children" in col:
        return {**col, "children": [_with_hidden(c, hidden) for c in col["children"]]}
    field = col["field"]
    choice = field.rsplit(":", 1)[0] if field.startswith("m:") else field
    return {**col, "hide": True} if choice in hidden else col


def _with_sort(col: dict, order: dict) -> dict:
    if "children" in col:
        return {**col, "children": [_with_sort(c, order) for c in col["children"]]}
    if col["field"] in order:
        direction, index = order[col["field"]]
        return {**col, "sort": direction, "sortIndex": index}
    return col


def run_grid(column_defs: list[dict], filter_model: dict, selected: list[str]) -> dag.AgGrid:
    options = {"rowSelection": {"mode": "multiRow", "checkboxes": True, "headerCheckbox": False,
                                "enableClickSelection": False},
               "selectionColumnDef": {"pinned": "left", "width": 48},
               "suppressFieldDotNotation": True, "cacheBlockSize": 100, "maxBlocksInCache": 50,
               "infiniteInitialRowCount": 1, "maxConcurrentDatasourceRequests": 2, "suppressCellFocus": True,
               "tooltipShowDelay": 300, "columnTypes": RUN_COLUMN_TYPES,
               "rowClassRules": GATE_ROW_CLASSES, "localeText": {"noRowsToShow": "No runs match."}}
    return dag.AgGrid(id=ids.RUN_GRID, rowModelType="infinite", columnDefs=column_defs, getRowId="params.data.id",
                      filterModel=filter_model or {}, selectedRows={"ids": selected} if selected else None,
                      defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 90},
                      dashGridOptions=options, className="ag-theme-quartz et-grid run-grid",
                      style={"height": "calc(100vh - 300px)", "minHeight": "360px"})
