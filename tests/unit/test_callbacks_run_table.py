"""The run table's callbacks on SQLite and Postgres: rows, sort and filter as SQL, live refresh, URL state."""
from __future__ import annotations

from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from callbacks import experiment
from components import ids
from services import accounts, run_table, runs
from tests.browser.seed import Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, text


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=9)


def rows(backend: Any, seed: Seed, **request: Any) -> tuple[list[str], int, str]:
    with signed_in(backend, seed.alice):
        response, label = experiment.get_rows({"startRow": 0, "endRow": 100, **request}, seed.experiment_id)
    return [r["name"] for r in response["rowData"]], response["rowCount"], label


def test_newest_first_with_params_and_metric_summaries(backend: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        response, label = experiment.get_rows({"startRow": 0, "endRow": 100}, seed.experiment_id)
    first = response["rowData"][0]
    assert label == "9 runs" and response["rowCount"] == 9
    assert first["name"] == "run-008" and first["user"] == "alice" and first["status"] == "RUNNING"
    assert first["p:alpha"] == 0.9 and first["p:algorithm"] == "NB"
    assert first["m:loss:last"] == pytest.approx(1 / 9 + 0.04) and first["m:loss:min"] == pytest.approx(1 / 9)
    assert first["m:accuracy:max"] == pytest.approx(0.84 + 0.004)


def test_sort_by_numeric_param_and_metric_aggregates(backend: Any, seed: Seed) -> None:
    names, _, _ = rows(backend, seed, sortModel=[{"colId": "p:alpha", "sort": "asc"}])
    assert names[:3] == ["run-000", "run-001", "run-002"]
    names, _, _ = rows(backend, seed, sortModel=[{"colId": "m:loss:last", "sort": "desc"}])
    assert names[0] == "run-000"
    names, _, _ = rows(backend, seed, sortModel=[{"colId": "m:accuracy:min", "sort": "desc"}])
    assert names[0] == "run-008"
    names, _, _ = rows(backend, seed, sortModel=[{"colId": "status", "sort": "asc"},
                                                 {"colId": "name", "sort": "desc"}])
    assert names[:3] == ["run-003", "run-000", "run-006"]  # FAILED, FINISHED, KILLED, then the RUNNING ones


def test_filters_become_sql(backend: Any, seed: Seed) -> None:
    def count(model: dict) -> int:
        return rows(backend, seed, filterModel=model)[1]

    assert count({"status": {"filterType": "text", "type": "equals", "filter": "running"}}) == 6
    assert count({"name": {"filterType": "text", "type": "contains", "filter": "00"}}) == 9
    assert count({"name": {"filterType": "text", "type": "contains", "filter": "%"}}) == 0  # LIKE is escaped
    assert count({"p:alpha": {"filterType": "number", "type": "greaterThan", "filter": 0.5}}) == 4
    assert count({"p:alpha": {"filterType": "number", "type": "inRange", "filter": 0.2, "filterTo": 0.4}}) == 3
    assert count({"p:algorithm": {"filterType": "text", "type": "equals", "filter": "SVM"}}) == 4
    assert count({"m:loss:last": {"filterType": "number", "type": "lessThan", "filter": 0.2}}) == 3
    assert count({"m:nope:last": {"filterType": "number", "type": "notBlank"}}) == 0
    assert count({"user": {"filterType": "text", "type": "startsWith", "filter": "ALI"}}) == 9
    assert count({"start_time": {"filterType": "date", "type": "equals", "dateFrom": "2023-11-14 00:00:00"}}) == 9
    assert count({"status": {"filterType": "text", "operator": "OR", "conditions": [
        {"type": "equals", "filter": "FAILED"}, {"type": "equals", "filter": "KILLED"}]}}) == 2
    assert count({"duration": {"filterType": "number", "type": "greaterThan", "filter": -1}}) == 9


def test_columns_outside_the_whitelist_are_ignored(backend: Any, seed: Seed) -> None:
    names, total, _ = rows(backend, seed, sortModel=[{"colId": "pk; DROP TABLE runs", "sort": "asc"},
                                                     {"colId": "m:loss:median", "sort": "asc"}],
                           filterModel={"runs.id": {"filterType": "text", "type": "equals", "filter": "x"},
                                        "m:loss:last": {"filterType": "text", "type": "contains", "filter": "1"},
                                        "status": {"filterType": "weird", "type": "equals"}})
    assert total == 9 and names[0] == "run-008"


def test_blocks_page_through_the_rows(backend: Any, seed: Seed) -> None:
    names, total, _ = rows(backend, seed, startRow=3, endRow=6, sortModel=[{"colId": "name", "sort": "asc"}])
    assert names == ["run-003", "run-004", "run-005"] and total == 9


def test_other_team_sees_nothing(backend: Any, core: Any, seed: Seed) -> None:
    bob = accounts.authenticate(core, "bob", "correct-horse-battery")
    with signed_in(backend, bob):
        response, label = experiment.get_rows({"startRow": 0, "endRow": 100}, seed.experiment_id)
        page = experiment.load_experiment(seed.experiment_id, {})
    assert response == {"rowData": [], "rowCount": 0} and label == "Not found"
    assert "Not found" in text(page) and "baseline" not in text(page) and find(page, ids.RUN_GRID) is None


def test_page_takes_sort_filter_selection_and_columns_from_the_link(backend: Any, seed: Seed) -> None:
    query = {"sort": "-m:loss:last", "filter": '{"status":{"filterType":"text","type":"equals","filter":"x"}}',
             "sel": f"{seed.run_ids[0]},{seed.run_ids[1]}", "agg": "min,bogus"}
    with signed_in(backend, seed.alice):
        page = experiment.load_experiment(seed.experiment_id, query)
    grid = find(page, ids.RUN_GRID)
    metrics = next(c for c in grid.columnDefs if c.get("headerName") == "Metrics")["children"]
    assert [c["field"] for c in metrics] == ["m:accuracy:last", "m:accuracy:min", "m:loss:last", "m:loss:min"]
    assert next(c for c in metrics if c["field"] == "m:loss:last")["sort"] == "desc"
    assert grid.filterModel == {"status": {"filterType": "text", "type": "equals", "filter": "x"}}
    assert grid.selectedRows == {"ids": seed.run_ids[:2]}
    assert find(page, ids.RUN_AGGREGATES).value == ["min"]
    assert "TF-IDF" in text(page)


def test_refresh_waits_for_the_version_to_move(backend: Any, core: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        page = experiment.load_experiment(seed.experiment_id, {})
        seen, columns = find(page, ids.EXP_SEEN).data, find(page, ids.EXP_COLUMNS).data
        with pytest.raises(PreventUpdate):
            experiment.refresh(1, seed.experiment_id, seen, columns, [], None)
        runs.create_run(core, seed.alice, seed.experiment_id, "same-keys", {"alpha": 5})
        version, new_columns, defs = experiment.refresh(2, seed.experiment_id, seen, columns, [], None)
        assert version > seen and new_columns is experiment.no_update and defs is experiment.no_update
        runs.create_run(core, seed.alice, seed.experiment_id, "new-key", {"momentum": 0.9})
        request = {"sortModel": [{"colId": "p:alpha", "sort": "desc"}]}
        later, new_columns, defs = experiment.refresh(3, seed.experiment_id, version, columns, ["max"], request)
    assert later > version and {"key": "momentum", "numeric": True} in new_columns["params"]
    params = next(c for c in defs if c.get("headerName") == "Parameters")["children"]
    assert [c["field"] for c in params] == ["p:algorithm", "p:alpha", "p:momentum"]
    assert next(c for c in params if c["field"] == "p:alpha")["sort"] == "desc"


def test_url_follows_the_table(backend: Any, seed: Seed) -> None:
    request = {"sortModel": [{"colId": "m:loss:last", "sort": "desc"}, {"colId": "name", "sort": "asc"}],
               "filterModel": {"status": {"filterType": "text", "type": "equals", "filter": "RUNNING"}}}
    search, label = experiment.sync_url(request, [{"id": "a"}, {"id": "b"}], ["max"])
    assert search.startswith("?sort=-m:loss:last,name&filter=%7B%22status%22") and "&sel=a,b&agg=max" in search
    assert label == "2 selected"
    assert experiment.sync_url(None, None, []) == ("", "")


def test_csv_export_follows_sort_and_filter_and_defuses_formulas(backend: Any, core: Any, seed: Seed) -> None:
    runs.create_run(core, seed.alice, seed.experiment_id, "csv-run", {"alpha": -1, "algorithm": "=1+1"})
    request = {"sortModel": [{"colId": "p:alpha", "sort": "asc"}],
               "filterModel": {"status": {"filterType": "text", "type": "equals", "filter": "RUNNING"}}}
    with signed_in(backend, seed.alice):
        columns = run_table.discover_columns(core, seed.alice, seed.experiment_id)
        download = experiment.export_csv(1, request, seed.experiment_id, columns, ["min"])
    lines = download["content"].splitlines()
    assert lines[0] == ("id,name,status,user,start_time,duration_s,parent_run_id,param.algorithm,param.alpha,"
                        "metric.accuracy.last,metric.accuracy.min,metric.loss.last,metric.loss.min")
    assert len(lines) == 1 + 7 and ",csv-run,RUNNING," in lines[1] and ",'=1+1,-1.0," in lines[1]
    assert ",run-001,RUNNING," in lines[2] and download["filename"].startswith("runs-")


def test_child_runs_name_their_parent(backend: Any, core: Any, seed: Seed) -> None:
    runs.create_run(core, seed.alice, seed.experiment_id, "fold-1", parent_run_id=seed.run_ids[0])
    with signed_in(backend, seed.alice):
        response, _ = experiment.get_rows({"startRow": 0, "endRow": 50}, seed.experiment_id)
    child = next(r for r in response["rowData"] if r["name"] == "fold-1")
    assert child["parent"] == "run-000" and child["parent_run_id"] == seed.run_ids[0]


def test_page_carries_the_first_rows_for_the_state_in_its_url(backend: Any, seed: Seed) -> None:
    query = {"sort": "m:loss:last", "filter": '{"status":{"filterType":"text","type":"equals","filter":"RUNNING"}}'}
    with signed_in(backend, seed.alice):
        first = find(experiment.load_experiment(seed.experiment_id, query), ids.RUN_FIRST_BLOCK).data
    names = [r["name"] for r in first["response"]["rowData"]]
    assert first["sort"] == "m:loss:last" and first["filter"]["status"]["filter"] == "RUNNING"
    assert first["label"] == "6 runs" and first["response"]["rowCount"] == 6  # runs 0, 3, 6 were finished/failed
    assert names[0] == "run-008" and "run-003" not in names  # lowest final loss among the running ones


def test_child_runs_sit_under_their_parent_and_can_be_left_out(backend: Any, core: Any, seed: Seed) -> None:
    for name in ("fold-1", "fold-2"):
        runs.create_run(core, seed.alice, seed.experiment_id, name, parent_run_id=seed.run_ids[4])
    names, total, _ = rows(backend, seed)
    at = names.index("run-004")
    assert total == 11 and names[at:at + 3] == ["run-004", "fold-1", "fold-2"] and names[0] == "run-008"
    with signed_in(backend, seed.alice):
        response, label = experiment.get_rows({"startRow": 0, "endRow": 100}, seed.experiment_id, True)
        search, _ = experiment.sync_url({}, None, [], True)
    assert label == "9 runs" and "fold-1" not in [r["name"] for r in response["rowData"]]
    assert search == "?top=1"
    sorted_names, _, _ = rows(backend, seed, sortModel=[{"colId": "name", "sort": "asc"}])
    assert sorted_names[:2] == ["fold-1", "fold-2"]  # an explicit sort is flat
