"""Run comparison and stored-comparison pages: callbacks and pure builders as plain functions, SQLite and Postgres."""
from __future__ import annotations

from typing import Any

import pytest
from dash.exceptions import PreventUpdate
from sqlalchemy import event

from callbacks import compare, visualization
from components import compare as view
from components import ids
from services import accounts, comparison, compare_runs, metrics, runs
from services.metrics import Point
from tests.browser.seed import PASSWORD, Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, text, walk


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=6)


def _bob(core: Any) -> Any:
    return accounts.authenticate(core, "bob", PASSWORD)


def _page(backend: Any, who: Any, **query: str) -> Any:
    with signed_in(backend, who):
        return compare.load_compare(query)


def _data(page: Any) -> list[dict]:
    return find(page, ids.COMPARE_DATA).data


def _tables(backend: Any, seed: Seed, data: list[dict], brush: dict | None = None, diff: bool = True,
            baseline: str | None = None) -> tuple:
    with signed_in(backend, seed.alice):
        return compare.update_tables(data, brush or {}, diff, baseline or data[0]["id"])


def test_no_runs_selected_says_what_to_do(backend: Any, seed: Seed) -> None:
    page = _page(backend, seed.alice)
    assert "select runs in an experiment's run table and press Compare" in text(page)
    assert find(page, ids.COMPARE_DATA) is None


def test_runs_load_in_the_asked_order_with_baseline_and_metric_from_the_url(backend: Any, seed: Seed) -> None:
    chosen = [seed.run_ids[3], seed.run_ids[0], seed.run_ids[5]]
    page = _page(backend, seed.alice, runs=",".join(chosen), baseline=chosen[1], metrics="loss")
    assert [r["id"] for r in _data(page)] == chosen
    assert find(page, ids.COMPARE_BASELINE).value == chosen[1]
    assert find(page, ids.COMPARE_METRIC).value == "loss" and find(page, ids.COMPARE_DIFF_ONLY).value is True
    assert "Compare 3 runs" in text(page) and "baseline-model-v1" in text(page)
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
    assert len(_data(page)) == 2 and "1 of the requested runs do not exist" in text(page)


def test_brushing_a_parcoords_axis_narrows_the_tables(backend: Any, seed: Seed) -> None:
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids)))
    assert view.parcoords_dimensions(data)[0] == ("param", "alpha")  # "algorithm" is text: not an axis
    brush = compare.update_brush([{"dimensions[0].constraintrange": [[0.15, 0.35]]}, [0]], {})
    assert brush == {"0": [[0.15, 0.35]]}
    params, table, label = _tables(backend, seed, data, brush)
    assert "Brushed: 2 of 6 runs shown" in text(label)
    assert "run-001" in text(table) and "run-002" in text(table) and "run-003" not in text(table)
    assert compare.update_brush([{"dimensions[0].constraintrange": None}, [0]], brush) == {}
    with pytest.raises(PreventUpdate):  # an unrelated restyle (e.g. colour) changes nothing
        compare.update_brush([{"line.color": "red"}, [0]], brush)
    empty = _tables(backend, seed, data, {"0": [[50, 60]]})
    assert "No run lies inside every brushed range" in text(empty[0])


def test_constraint_range_shapes_plotly_sends() -> None:
    assert view.merge_constraints({}, [{"dimensions[2].constraintrange": [1, 0]}, [0]]) == {"2": [[0, 1]]}
    two = view.merge_constraints({}, [{"dimensions[1].constraintrange": [[[0, 1], [3, 4]]]}, [0]])
    assert two == {"1": [[0, 1], [3, 4]]}
    runs_ = [{"params": {"x": v}, "metrics": {}} for v in (0.5, 2, 3.5)]
    assert [r["params"]["x"] for r in view.brushed(runs_, {"0": [[0, 1], [3, 4]]})] == [0.5, 3.5]
    assert view.brushed(runs_, {"9": [[0, 1]]}) == runs_  # an axis that does not exist is ignored


def test_curves_overlay_each_run_and_cap_at_twenty(backend: Any, core: Any) -> None:
    seed = seed_dashboard(core, run_count=23)
    data = _data(_page(backend, seed.alice, runs=",".join(seed.run_ids)))
    with signed_in(backend, seed.alice):
        figure, note, bars = compare.update_curves("loss", data)
        assert len(figure.data) == 20 and "20 of 23 runs with loss drawn" in note
        few, note_few, _ = compare.update_curves("loss", data[:3])
    assert [t.name for t in few.data] == ["run-000", "run-001", "run-002"]
    assert list(few.data[0].x) == [0, 1, 2, 3, 4] and few.data[0].y[0] == pytest.approx(1.0)
    assert note_few == "3 runs with loss." and bars.data[0].y[0] == "alpha"


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
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert small == large <= 3  # two reads (+ nothing per run)
    assert len(every["runs"]) == 6 and every["runs"][0]["params"] == {"alpha": 0.1, "algorithm": "NB"}
    assert set(few["runs"][0]["metrics"]) == {"accuracy", "loss"} and few["missing"] == []


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
