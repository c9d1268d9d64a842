"""The run table's column chooser as plain functions: ?hide= in and out, checklists, hidden grid columns, CSV."""
from __future__ import annotations

from typing import Any

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from callbacks import experiment, run_columns
from components import ids
from services import run_table
from tests.browser.seed import Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, text, triggered

HIDE = "user,p:alpha,m:loss"


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=3)


def _hidden_fields(defs: list[dict]) -> set[str]:
    leaves = [c for col in defs for c in col.get("children", [col])]
    return {c["field"] for c in leaves if c.get("hide")}


def test_a_shared_link_opens_with_its_columns_hidden(backend: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        page = experiment.load_experiment(seed.experiment_id, {"hide": HIDE, "agg": "min"})
    assert _hidden_fields(find(page, ids.RUN_GRID).columnDefs) == {"user", "p:alpha", "m:loss:last", "m:loss:min"}
    assert find(page, ids.EXP_HIDDEN).data == ["user", "p:alpha", "m:loss"]
    assert "user" not in find(page, ids.RUN_COLUMNS_ATTRS).value and "status" in find(page, ids.RUN_COLUMNS_ATTRS).value
    assert find(page, ids.RUN_COLUMNS_PARAMS).value == ["p:algorithm"]
    assert find(page, ids.RUN_COLUMNS_METRICS).value == ["m:accuracy"]
    assert text(find(page, ids.RUN_COLUMNS_BUTTON)) == "Columns (6 of 9)"  # 5 attributes, 2 params, 2 metrics


def test_unchecking_hides_and_writes_the_url(backend: Any, core: Any, seed: Seed) -> None:
    columns = run_table.discover_columns(core, seed.alice, seed.experiment_id)
    hidden, label = run_columns.choose(["status", "start_time", "duration", "parent"], ["p:algorithm"],
                                       ["m:accuracy", "m:loss"], columns, [])
    assert hidden == ["user", "p:alpha"] and label == "Columns (7 of 9)"
    with pytest.raises(PreventUpdate):  # the same choice again: nothing to redraw
        run_columns.choose(["status", "start_time", "duration", "parent"], ["p:algorithm"], ["m:accuracy", "m:loss"],
                           columns, hidden)
    defs = experiment.change_columns(["max"], hidden + ["m:accuracy"], columns, None)
    assert _hidden_fields(defs) == {"user", "p:alpha", "m:accuracy:last", "m:accuracy:max"}
    search, _ = experiment.sync_url({}, None, [], False, hidden)
    assert search == "?hide=user,p:alpha"
    assert experiment.sync_url({}, None, [], False, [])[0] == ""


def test_show_all_hide_all_and_the_filter_box(core: Any, seed: Seed) -> None:
    columns = run_table.discover_columns(core, seed.alice, seed.experiment_id)
    with triggered(ids.RUN_COLUMNS_NONE, "n_clicks", 1):
        assert run_columns.show_all_or_none(None, 1, columns) == ([], [], [])
    with triggered(ids.RUN_COLUMNS_ALL, "n_clicks", 1):
        attrs, params, metrics = run_columns.show_all_or_none(1, None, columns)
    assert len(attrs) == 5 and params == ["p:algorithm", "p:alpha"] and metrics == ["m:accuracy", "m:loss"]
    with triggered(ids.RUN_COLUMNS_FILTER, "value", "AL"):
        out = run_columns.update_lists("AL", columns, ["p:alpha"])
    assert [o["label"] for o in out[1]] == ["algorithm", "alpha"] and out[0] == [] and out[2] == []
    assert out[3:] == (no_update, no_update, no_update)  # filtering never changes what is shown


def test_columns_discovered_later_come_in_shown(core: Any, seed: Seed) -> None:
    columns = run_table.discover_columns(core, seed.alice, seed.experiment_id)
    grown = {**columns, "metrics": [*columns["metrics"], "f1"]}
    with triggered(ids.EXP_COLUMNS, "data", grown):
        out = run_columns.update_lists(None, grown, ["m:loss"])
    assert out[5] == ["m:accuracy", "m:f1"] and [o["value"] for o in out[2]] == ["m:accuracy", "m:loss", "m:f1"]


def test_csv_export_leaves_hidden_columns_out(backend: Any, core: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        columns = run_table.discover_columns(core, seed.alice, seed.experiment_id)
        download = experiment.export_csv(1, {}, seed.experiment_id, columns, [], False, ["user", "p:alpha", "m:loss"])
    assert download["content"].splitlines()[0] == ("id,name,status,start_time,duration_s,parent_run_id,"
                                                   "param.algorithm,metric.accuracy.last")
