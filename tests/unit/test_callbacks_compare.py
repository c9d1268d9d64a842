"""Run comparison and stored-comparison pages: callbacks and pure builders as plain functions, SQLite and Postgres."""
from __future__ import annotations

from typing import Any

import pytest
from dash.exceptions import PreventUpdate
from sqlalchemy import event

from callbacks import compare, visualization
from components import compare as view
from components import ids, parcoords
from services import accounts, comparison, compare_runs, experiments, metrics, runs
from services.metrics import Point
from tests.browser.seed import PASSWORD, Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, walk
from tests.unit.dash_tree import text as tree_text


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=6)


def _bob(core: Any) -> Any:
    return accounts.authenticate(core, "bob", PASSWORD)


def _page(backend: Any, who: Any, **query: str) -> Any:
    with signed_in(backend, who):
        return compare.load_compare(query)


def _data(page: Any) -> dict:
    """The page's handle on its runs: {"ids": [...]} (the runs themselves stay on the server)."""
    return find(page, ids.COMPARE_DATA).data


def _runs(backend: Any, who: Any, data: dict) -> list[dict]:
    with signed_in(backend, who):
        return compare.loaded_runs(data)


def _first(data: dict) -> str:
    return data["ids"][0]


def text(node: Any) -> str:
    """Every string in a page tree or in the tables packed for assets/compare.js (dicts and lists of cells)."""
    if isinstance(node, dict):
        return " ".join(text(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return " ".join(text(v) for v in node)
    return tree_text(node)


def _tables(backend: Any, seed: Seed, data: dict, brush: dict | None = None, diff: bool = True,
            baseline: str | None = None, group: str | None = None) -> tuple:
    """(params, metrics, brush label): the two packed tables and the label update_tables answers."""
    with signed_in(backend, seed.alice):
        tables, label = compare.update_tables(data, brush or {}, diff, baseline or _first(data), group)
    return tables["params"], tables["metrics"], label


def test_no_runs_selected_says_what_to_do(backend: Any, seed: Seed) -> None:
    page = _page(backend, seed.alice)
    assert "select runs in an experiment's run table and press Compare" in text(page)
    assert find(page, ids.COMPARE_DATA) is None


def test_runs_load_in_the_asked_order_with_baseline_and_metric_from_the_url(backend: Any, seed: Seed) -> None:
    chosen = [seed.run_ids[3], seed.run_ids[0], seed.run_ids[5]]
    page = _page(backend, seed.alice, runs=",".join(chosen), baseline=chosen[1], metrics="loss")
    assert _data(page) == {"ids": chosen}
    assert find(page, ids.COMPARE_BASELINE).value == chosen[1]
    assert find(page, ids.COMPARE_METRIC).value == "loss" and find(page, ids.COMPARE_DIFF_ONLY).value is True
    assert "Compare 3 runs" in text(page) and "baseline-model-v1" in text(page)
    crumbs = [c.href for c in walk(page) if getattr(c, "href", None)]
    assert f"/projects/{seed.project_id}" in crumbs and f"/experiments/{seed.experiment_id}" in crumbs
    default = _page(backend, seed.alice, runs=",".join(chosen), baseline="not-a-run", metrics="nope", diff="0")
    assert find(default, ids.COMPARE_BASELINE).value == chosen[0]  # unknown baseline: the first run
    assert find(default, ids.COMPARE_METRIC).value == "accuracy" and find(default, ids.COMPARE_DIFF_ONLY).value is False


def test_params_differences_only_by_default_and_all_on_toggle(backend: Any, seed: Seed) -> None:
    made = [runs.create_run(seed.core, seed.alice, seed.experiment_id, f"lr-{i}",
                            {"lr": 0.1 * (i + 1), "epochs": 10, "optimizer": "adam"})["id"] for i in range(3)]
    data = _data(_page(backend, seed.alice, runs=",".join(made)))
    params, _metrics, label = _tables(backend, seed, data)
    header = text(params)
    assert "lr" in header and "epochs" not in header and "optimizer" not in header
    assert "1 of 3 parameters differ" in header and label == ""
    all_params = text(_tables(backend, seed, data, diff=False)[0])
    assert "epochs" in all_params and "adam" in all_params
    same = _data(_page(backend, seed.alice, runs=",".join(made[:1])))  # one run: nothing differs
    assert "Turn off “Differences only”" in text(_tables(backend, seed, same)[0])


def test_metric_summaries_show_deltas_against_the_baseline(backend: Any, seed: Seed) -> None:
    chosen = [seed.run_ids[0], seed.run_ids[2]]
    data = _data(_page(backend, seed.alice, runs=",".join(chosen)))
    table = _tables(backend, seed, data, baseline=chosen[0])[1]
    content = text(table)
    assert "baseline" in content and "+0.01" in content  # accuracy rises 0.005 per run: run 2 − run 0
    flipped = text(_tables(backend, seed, data, baseline=chosen[1])[1])
    assert "-0.01" in flipped


def test_runs_of_another_team_are_not_found_and_partial_access_is_said(backend: Any, core: Any,
                                                                      seed: Seed) -> None:
    assert "Not found" in text(_page(backend, _bob(core), runs=",".join(seed.run_ids[:2])))
    page = _page(backend, seed.alice, runs=",".join([*seed.run_ids[:2], "00000000-0000-0000-0000-000000000000"]))
    assert len(_data(page)["ids"]) == 2 and "1 of the requested runs do not exist" in text(page)


def test_brushing_a_parcoords_axis_narrows_the_tables(backend: Any, seed: Seed) -> None:
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids)))
    dims = parcoords.parcoords_dimensions(_runs(backend, seed.alice, data))
    assert dims[:2] == [("category", "algorithm", ("NB", "SVM")), ("param", "alpha")]  # text: a category axis
    brush = compare.update_brush([{"dimensions[1].constraintrange": [[0.15, 0.35]]}, [0]], {})
    assert brush == {"1": [[0.15, 0.35]]}
    params, table, label = _tables(backend, seed, data, brush)
    assert "Brushed: 2 of 6 runs shown" in text(label)
    assert "run-001" in text(table) and "run-002" in text(table) and "run-003" not in text(table)
    assert compare.update_brush([{"dimensions[1].constraintrange": None}, [0]], brush) == {}
    with pytest.raises(PreventUpdate):  # an unrelated restyle (e.g. colour) changes nothing
        compare.update_brush([{"line.color": "red"}, [0]], brush)
    svm = _tables(backend, seed, data, {"0": [[0.8, 1.2]]})[1]  # the "SVM" tick of the algorithm axis
    assert "run-001" in text(svm) and "run-003" in text(svm) and "run-000" not in text(svm) \
        and "run-002" not in text(svm)
    empty = _tables(backend, seed, data, {"1": [[50, 60]]})
    assert "No run lies inside every brushed range" in text(empty[0])


def test_tables_list_at_most_the_row_cap_and_say_so(backend: Any, seed: Seed, monkeypatch: Any) -> None:
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids)))
    monkeypatch.setattr(compare, "MAX_TABLE_ROWS", 4)
    params, table, label = _tables(backend, seed, data, diff=False)
    assert "Tables list the first 4 of 6 runs" in text(label)
    assert "run-003" in text(table) and "run-004" not in text(table) and "run-004" not in text(params)
    grouped = text(_tables(backend, seed, data, group="param:algorithm")[1])
    assert "(3)" in grouped  # the group rows still summarize all six runs


def test_constraint_range_shapes_plotly_sends() -> None:
    assert parcoords.merge_constraints({}, [{"dimensions[2].constraintrange": [1, 0]}, [0]]) == {"2": [[0, 1]]}
    two = parcoords.merge_constraints({}, [{"dimensions[1].constraintrange": [[[0, 1], [3, 4]]]}, [0]])
    assert two == {"1": [[0, 1], [3, 4]]}
    runs_ = [{"params": {"x": v}, "metrics": {}} for v in (0.5, 2, 3.5)]
    assert [r["params"]["x"] for r in parcoords.brushed(runs_, {"0": [[0, 1], [3, 4]]})] == [0.5, 3.5]
    assert parcoords.brushed(runs_, {"9": [[0, 1]]}) == runs_  # an axis that does not exist is ignored


def test_curves_overlay_each_run_and_cap_at_twenty(backend: Any, core: Any) -> None:
    seed = seed_dashboard(core, run_count=23)
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids)))
    with signed_in(backend, seed.alice):
        figure, note, bars = compare.update_curves("loss", data)
        assert len(figure.data) == 20 and "20 of 23 runs with loss drawn" in note
        few, note_few, _ = compare.update_curves("loss", {"ids": data["ids"][:3]})
    assert [t.name for t in few.data] == ["run-000", "run-001", "run-002"]
    assert list(few.data[0].x) == [0, 1, 2, 3, 4] and few.data[0].y[0] == pytest.approx(1.0)
    assert note_few == "3 runs with loss." and bars.data[0].y[0] == "alpha"


def test_fast_table_elements_serialize_like_dash_components() -> None:
    from dash import html

    for cls, props in ((html.Td, {"className": "num"}), (html.Span, {}), (html.A, {"href": "/runs/x", "title": "t"})):
        fast, slow = view.el(cls, ["1", view.el(html.Span, "d")], **props), cls(["1", html.Span("d")], **props)
        assert fast.to_plotly_json()["props"].keys() == slow.to_plotly_json()["props"].keys()
        assert fast.to_plotly_json()["type"] == slow.to_plotly_json()["type"]
        assert fast.to_plotly_json()["props"]["children"][1].to_plotly_json() == html.Span("d").to_plotly_json()
        assert text(fast) == "1 d"


def test_importance_is_absolute_spearman_with_n() -> None:
    runs_ = [{"params": {"lr": lr, "depth": d, "one": 1, "name": "x"}, "metrics": {"acc": {"last": acc}}}
             for lr, d, acc in ((0.1, 3, 0.9), (0.2, 1, 0.8), (0.3, 2, 0.7), (0.4, 5, 0.6))]
    rows = {r["param"]: r for r in view.importance(runs_, "acc")}
    assert rows["lr"]["abs_rho"] == pytest.approx(1.0) and rows["lr"]["rho"] == pytest.approx(-1.0)
    assert rows["lr"]["n"] == 4 and rows["depth"]["abs_rho"] == pytest.approx(0.4)
    assert rows["one"]["abs_rho"] is None and "name" not in rows  # constant param: no ρ; text param: not numeric
    figure = view.importance_figure(list(rows.values()), "acc")
    assert "n=4" in figure.data[0].text[-1] and "1 param(s) left out" in figure.layout.xaxis.title.text
    assert "at least 3 runs" in view.importance_figure([], "acc").layout.annotations[0].text


def test_scatter_of_a_param_against_a_metric(backend: Any, seed: Seed) -> None:
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids)))
    with signed_in(backend, seed.alice):
        figure = compare.update_scatter("alpha", "accuracy", data)
    assert list(figure.data[0].x) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] and "6 runs" in figure.layout.title.text
    with pytest.raises(PreventUpdate):
        compare.update_scatter("alpha", "accuracy", None)


def test_url_and_the_experiment_page_button() -> None:
    assert compare.sync_url("r2", "loss", True, {"runs": "r1,r2"}) == "?runs=r1,r2&baseline=r2&metrics=loss"
    assert compare.sync_url("r1", None, False, {"runs": "r1"}) == "?runs=r1&baseline=r1&diff=0"
    many = [{"id": f"run-{i}"} for i in range(250)]  # no cap on the number compared
    href, disabled = compare.compare_link(many)
    assert href.count(",") == 249 and not disabled
    assert compare.compare_link({"ids": ["a", "b"]}) == ("/compare?runs=a,b", False)
    assert compare.compare_link([]) == ("/compare", True)


def test_load_runs_reads_any_number_of_runs_in_constant_queries(backend: Any, core: Any, seed: Seed) -> None:
    engine = core.sessions.kw["bind"]
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("q")

    event.listen(engine, "before_cursor_execute", count)
    try:
        few = compare_runs.load_runs(core, seed.alice, seed.run_ids[:2])
        small = len(statements)
        statements.clear()
        every = compare_runs.load_runs(core, seed.alice, seed.run_ids)
        large = len(statements)
        compare_runs.cached_runs(core, seed.alice, seed.run_ids)  # loads once into the cache
        statements.clear()
        again = compare_runs.cached_runs(core, seed.alice, seed.run_ids)
        hit = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert small == large <= 5  # runs, params, metrics, tags, the experiments' gates (+ nothing per run)
    assert len(every["runs"]) == 6 and every["runs"][0]["params"] == {"alpha": 0.1, "algorithm": "NB"}
    assert set(few["runs"][0]["metrics"]) == {"accuracy", "loss"} and few["missing"] == []
    assert hit == 1 and again == every  # a cache hit costs only the access check


def test_the_page_keeps_only_run_ids_and_each_call_checks_access(backend: Any, core: Any, seed: Seed) -> None:
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids)))
    assert data == {"ids": seed.run_ids}  # no params or metrics in the browser's store
    assert len(_runs(backend, seed.alice, data)) == 6
    with signed_in(backend, _bob(core)):  # the same ids sent by a user of another team: nothing comes back
        assert compare.loaded_runs(data) == []
        tables, label = compare.update_tables(data, {}, True, _first(data))
        params, table = tables["params"], tables["metrics"]
        assert "None of these runs can be read any more" in text(params) and "run-000" not in text(table)
        with pytest.raises(PreventUpdate):
            compare.update_curves("loss", data)
        with pytest.raises(PreventUpdate):
            compare.update_scatter("alpha", "loss", data)
    runs.delete_run(core, seed.alice, seed.run_ids[1])  # a run deleted after the page loaded drops out
    assert [r["id"] for r in _runs(backend, seed.alice, data)] == [i for i in seed.run_ids if i != seed.run_ids[1]]
    assert "run-001" not in text(_tables(backend, seed, data)[1])


def test_tables_show_a_metric_value_logged_after_the_page_loaded(backend: Any, core: Any, seed: Seed) -> None:
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids[:2])))
    assert "9.125" not in text(_tables(backend, seed, data)[1])
    metrics.log_points(core, seed.alice, seed.run_ids[1], [Point("loss", 9.125, 99, 1_700_000_000_000)])
    assert "9.125" in text(_tables(backend, seed, data)[1])  # the experiment's version moved: no stale cache
    runs.update_run(core, seed.alice, seed.run_ids[1], name="renamed-run")
    assert "renamed-run" in text(_tables(backend, seed, data)[1])


def test_group_by_a_param_gives_mean_std_cells_and_mean_curves_with_a_band(backend: Any, seed: Seed) -> None:
    page = _page(backend, seed.alice, runs=",".join(seed.run_ids), group="param:algorithm")
    assert find(page, ids.COMPARE_GROUP).value == "param:algorithm"
    assert {o["value"] for o in find(page, ids.COMPARE_GROUP).options} == {"param:alpha", "param:algorithm"}
    data = _data(page)
    with signed_in(backend, seed.alice):
        table = compare.update_tables(data, {}, True, _first(data), "param:algorithm")[0]["metrics"]
        figure, note, _bars = compare.update_curves("accuracy", data, "param:algorithm")
    content = text(table)  # NB: runs 0, 2, 4 → accuracy last 0.804, 0.814, 0.824: mean 0.814, std 0.01
    assert "algorithm = NB" in content and "algorithm = SVM" in content and "0.814 ± 0.01 (3)" in content
    assert "2 groups by param algorithm over 6 runs" in note
    bands = [t for t in figure.data if t.fill == "toself"]
    lines = [t for t in figure.data if t.fill != "toself"]
    assert [t.name for t in lines] == ["algorithm = NB (n=3)", "algorithm = SVM (n=3)"] and len(bands) == 2
    assert list(lines[0].x) == [0, 1, 2, 3, 4] and lines[0].y[0] == pytest.approx(0.81)  # (0.80 + 0.81 + 0.82) / 3
    one = _tables(backend, seed, {"ids": data["ids"][:1]}, group="param:algorithm")[1]
    assert "0.804 ± — (1)" in text(one)  # n < 2: no std
    assert "baseline" in text(_tables(backend, seed, data, group="bogus")[1])  # bad key: ungrouped
    assert find(_page(backend, seed.alice, runs=seed.run_ids[0], group="param:nope"), ids.COMPARE_GROUP).value is None


def test_group_by_a_tag_and_failing_gates_are_marked(backend: Any, seed: Seed) -> None:
    exp = experiments.create_experiment(seed.core, seed.alice, seed.project_id, "gated-compare",
                                        validation_criteria={"accuracy": ">= 0.95"})
    made = []
    for name, value in (("good", 0.97), ("bad", 0.90), ("bad-2", 0.91)):
        run = runs.create_run(seed.core, seed.alice, exp["id"], name, {"alpha": 0.5}, tags={"team": name[:3]})
        metrics.log_points(seed.core, seed.alice, run["id"], [Point("accuracy", value, 0, 1_700_000_000_000)])
        made.append(run["id"])
    page = _page(backend, seed.alice, runs=",".join([*made, seed.run_ids[0]]))
    data = _data(page)
    loaded = _runs(backend, seed.alice, data)
    assert [r["gate"] for r in loaded] == ["passed", "failed", "failed", "no_criteria"]
    assert loaded[0]["tags"] == {"team": "goo"}
    assert "Safety gates: 2 of 4 runs failed" in text(page) and "Gate failed" in text(find(page, "compare-run-gates"))
    params, table, _ = _tables(backend, seed, data, diff=False)
    for packed in (params, table):
        rows = [r for r in packed["table"]["rows"] if "gate-failed-row" in (r["cls"] or "")]
        assert len(rows) == 2 and "Gate failed" in text(rows[0]) and "Gate passed" in text(packed)
    grouped = text(_tables(backend, seed, data, group="tag:team")[1])
    assert "team = bad" in grouped and "2 gate failed" in grouped and "team = (not set)" in grouped


def test_brush_is_written_to_the_url_by_axis_label_and_restored(backend: Any, seed: Seed) -> None:
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids)))
    brush = {"1": [[0.15, 0.35]], "3": [[0.5, 0.7], [0.9, 1.1]]}  # alpha, then loss (last)
    axes = find(_page(backend, seed.alice, runs=",".join(seed.run_ids)), ids.COMPARE_AXES).data
    assert axes == ["algorithm", "alpha", "accuracy (last)", "loss (last)"]
    search = compare.sync_url(_first(data), "loss", True, {"runs": "a,b"}, "param:alpha", brush, axes)
    assert search.endswith("&metrics=loss&group=param:alpha&brush=alpha~0.15_0.35,loss+%28last%29~0.5_0.7~0.9_1.1")
    assert parcoords.decode_brush(axes, "loss (last)~0.5_0.7~0.9_1.1,alpha~0.15_0.35") == brush
    assert parcoords.decode_brush(axes, "nope~1_2,alpha~x_1,alpha~1") == {}  # unknown axis, bad numbers
    page = _page(backend, seed.alice, runs=",".join(seed.run_ids), brush="alpha~0.15_0.35")
    assert find(page, ids.COMPARE_BRUSH).data == {"1": [[0.15, 0.35]]}
    dims = find(page, ids.COMPARE_PARCOORDS).figure.data[0].dimensions
    assert list(dims[1].constraintrange) == [0.15, 0.35] and dims[2].constraintrange is None
    assert list(dims[0].ticktext) == ["NB", "SVM"] and list(dims[0].tickvals) == [0, 1]
    label = _tables(backend, seed, data, find(page, ids.COMPARE_BRUSH).data)[2]
    assert "Brushed: 2 of 6 runs shown" in text(label)


def _second_experiment(seed: Seed, values: list[float]) -> None:
    for i, value in enumerate(values):
        run = runs.create_run(seed.core, seed.alice, seed.empty_experiment_id, f"bert-{i}", {"alpha": 0.5})
        metrics.log_points(seed.core, seed.alice, run["id"], [Point("accuracy", value, 0, 1_700_000_000_000)])


def test_visualization_shows_significance_best_experiment_and_run_values(backend: Any, core: Any,
                                                                         seed: Seed) -> None:
    _second_experiment(seed, [0.95, 0.96, 0.97, 0.955])
    stored = comparison.compare(core, seed.alice, [seed.experiment_id, seed.empty_experiment_id], ["accuracy"])
    with signed_in(backend, seed.alice):
        page = visualization.load_visualization(stored["comparison_id"])
    content = text(page)
    assert "Best experiment" in content and find(page, "viz-best").children == "bert-finetune"
    result = stored["results"]["statistical_significance"]["accuracy"]
    assert f"{result['p_value']:.4f}" in content or "< 0.0001" in content
    assert "significant" in content and "cohens d" in content and "bert-finetune: 4" in content
    graph = next(n for n in walk(page) if getattr(n, "figure", None) is not None)
    assert [t.name for t in graph.figure.data] == ["bert-finetune", "baseline-model-v1"]
    assert len(graph.figure.data[1].y) == 6
    with signed_in(backend, _bob(core)):
        assert "Not found" in text(visualization.load_visualization(stored["comparison_id"]))
        assert "Not found" in text(visualization.load_visualization("no-such-comparison"))


def test_visualization_warns_when_a_group_is_too_small(backend: Any, core: Any, seed: Seed) -> None:
    _second_experiment(seed, [0.9, 0.91])
    stored = comparison.compare(core, seed.alice, [seed.experiment_id, seed.empty_experiment_id], ["accuracy"])
    with signed_in(backend, seed.alice):
        content = text(visualization.load_visualization(stored["comparison_id"]))
    assert "only 2 value(s)" in content and "no test" in content


def test_curves_align_by_time_since_each_runs_start(backend: Any, core: Any, seed: Seed) -> None:
    from services import metrics, runs
    start = 1_700_100_000_000
    made = [runs.create_run(core, seed.alice, seed.experiment_id, f"timed-{i}", start_time=start + i * 3_600_000)
            for i in range(2)]
    for i, run in enumerate(made):  # one point a minute; the second run logs twice as fast
        metrics.log_points(core, seed.alice, run["id"], [metrics.Point("loss", 1.0 / (s + 1), s,
                                                                       start + i * 3_600_000 + s * 60_000 // (i + 1))
                                                         for s in range(5)])
    with signed_in(backend, seed.alice):
        figure, _note, _ = compare.update_curves("loss", {"ids": [r["id"] for r in made]}, None, "time")
        by_step, _, _ = compare.update_curves("loss", {"ids": [r["id"] for r in made]}, None, "step")
    assert list(figure.data[0].x) == [0, 1, 2, 3, 4] and list(figure.data[1].x) == [0, 0.5, 1, 1.5, 2]
    assert figure.layout.xaxis.title.text == "time since the run's start (min)"
    assert list(by_step.data[1].x) == [0, 1, 2, 3, 4] and by_step.layout.xaxis.title.text == "step"
    assert compare.sync_url("r1", "loss", True, {"runs": "r1"}, align="time").endswith("&align=time")


def test_baseline_picker_lists_a_page_of_runs_and_searches_all_of_them_on_the_server(backend: Any, seed: Seed,
                                                                                     monkeypatch: Any) -> None:
    """Thousands of options would stall the browser indexing them; past the cap, typing searches on the server
    and the chosen baseline always stays listed."""
    monkeypatch.setattr(compare, "BASELINE_OPTIONS", 3)
    chosen = seed.run_ids
    page = _page(backend, seed.alice, runs=",".join(chosen), baseline=chosen[4])
    listed = [o["value"] for o in find(page, ids.COMPARE_BASELINE).options]
    assert listed == [chosen[4], *chosen[:3]]
    with signed_in(backend, seed.alice):
        found = compare.search_baseline("RUN-005", _data(page), chosen[4])
        assert [o["value"] for o in found] == [chosen[4], chosen[5]] and "run-005" in found[1]["label"]
        with pytest.raises(PreventUpdate):  # a short list is searched in the browser
            compare.search_baseline("run", {"ids": chosen[:3]}, chosen[0])
