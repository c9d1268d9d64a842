"""Navbar, project browser, project page and run page callbacks as plain functions, on SQLite and Postgres."""
from __future__ import annotations

from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from callbacks import experiment, navbar, project, projects, run
from components import ids
from services import accounts, metrics, runs
from services.metrics import Point
from tests.browser.seed import PASSWORD, Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, text


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=3)


def _user(core: Any, name: str, team: str | None = None, role: str = "viewer") -> Any:
    accounts.create_user(core, None, name, PASSWORD)
    if team:
        accounts.set_membership(core, None, team, name, role)
    return accounts.authenticate(core, name, PASSWORD)


def test_navbar_lists_visible_projects_and_marks_the_current_one(backend: Any, core: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        options, current, name, page_project = navbar.fill_navbar(f"/projects/{seed.project_id}")
        # the switcher's value and the page's project agree, so the browser-side switch does not navigate
        assert navbar.fill_navbar(f"/experiments/{seed.experiment_id}")[1::2] == (seed.project_id,) * 2
        assert navbar.fill_navbar(f"/runs/{seed.run_ids[0]}")[1::2] == (seed.project_id,) * 2
        assert navbar.fill_navbar("/runs/not-a-run")[1::2] == (None, None)
        assert navbar.fill_navbar("/projects")[3] is None
        assert navbar.fill_navbar(f"/experiments/{seed.experiment_id}/trends")[3] == seed.project_id
    assert [o["search"] for o in options] == ["churn ml-team", "healthcare-ai ml-team"]
    assert current == page_project == seed.project_id and name == "alice"
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob):
        options, current, _, _ = navbar.fill_navbar(f"/projects/{seed.project_id}")
    assert options == [] and current is None


def test_search_finds_projects_experiments_and_runs_the_user_may_see(backend: Any, core: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        found = text(navbar.search("e"))
        assert "healthcare-ai" in found and "baseline-model-v1" in found and "Runs" not in found
        assert "run-002" in text(navbar.search("RUN-00"))
        assert "Nothing named like" in text(navbar.search("100%_"))
        assert navbar.search("  ") == []
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob):
        assert "Nothing named like" in text(navbar.search("healthcare"))


def test_project_browser_table_filters_and_url(backend: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        grid, count, search = projects.list_projects(None, None)
        assert count == "2 projects" and search == ""
        assert [r["name"] for r in grid.rowData] == ["churn", "healthcare-ai"]
        healthcare = next(r for r in grid.rowData if r["name"] == "healthcare-ai")
        assert healthcare["experiment_count"] == 2 and healthcare["run_count"] == 3
        grid, count, search = projects.list_projects("ml-team", "nlp")
        assert [r["name"] for r in grid.rowData] == ["healthcare-ai"] and search == "?team=ml-team&tag=nlp"
        nothing, count, _ = projects.list_projects(None, "no-such-tag")
        assert "No project matches" in text(nothing) and count == ""
        teams, tags, button, writable, default = projects.filter_choices("/projects")
    assert teams == ["ml-team"] and tags == ["healthcare", "nlp", "tabular"]
    assert button == {} and writable == ["ml-team"] and default == "ml-team"


def test_empty_state_shows_first_run_snippets(backend: Any, core: Any, seed: Seed) -> None:
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob):
        empty, count, _ = projects.list_projects(None, None)
    shown = text(empty)
    assert "No projects yet" in shown and count == ""
    assert "curl -s -X POST http://tracker.example:8003/api/v1/auth/token" in shown
    assert 'BASE = "http://tracker.example:8003/api/v1"' in shown and '"team": "other-team"' in shown


def test_viewer_cannot_create_and_sees_no_button(backend: Any, core: Any, seed: Seed) -> None:
    viewer = _user(core, "vera", "ml-team", "viewer")
    with signed_in(backend, viewer):
        _, _, button, writable, _ = projects.filter_choices("/projects")
        page = project.load_project(seed.project_id)
        error, is_open, href = projects.create_project(1, "sneaky", "ml-team", "", "")
    assert button == {"display": "none"} and writable == []
    assert find(page, ids.PROJECT_NEW_EXPERIMENT) is None and find(page, ids.NEW_EXPERIMENT_MODAL) is None
    assert "editor role" in text(error) and href is projects.no_update


def test_create_project_then_experiment(backend: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        error, _, _ = projects.create_project(1, "  ", "ml-team", "", "")
        assert "name" in text(error)
        _, is_open, href = projects.create_project(1, "vision", "ml-team", "Images", "cv, resnet")
        assert is_open is False and href.startswith("/projects/")
        error, _, _ = projects.create_project(1, "vision", "ml-team", "", "")
        assert "already exists" in text(error)
        new_id = href.rsplit("/", 1)[1]
        page = project.load_project(new_id)
        assert "No experiments yet" in text(page) and find(page, ids.PROJECT_NEW_EXPERIMENT) is not None
        _, is_open, href = project.create_experiment(1, new_id, "resnet50", "ResNet beats ViT", "", "cv")
        assert href.startswith("/experiments/")
        page = project.load_project(new_id)
    grid = find(page, ids.PROJECT_GRID)
    assert [(r["name"], r["hypothesis"], r["run_count"]) for r in grid.rowData] == [("resnet50", "ResNet beats ViT", 0)]


def test_project_of_another_team_is_not_found(backend: Any, core: Any, seed: Seed) -> None:
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob):
        hidden = project.load_project(seed.project_id)
        missing = project.load_project("00000000-0000-0000-0000-000000000000")
    assert text(hidden) == text(missing) and "healthcare" not in text(hidden)


def test_run_page_charts_follow_the_version(backend: Any, core: Any, seed: Seed) -> None:
    run_id = seed.run_ids[0]
    with signed_in(backend, seed.alice):
        page = run.load_run(run_id, {"metrics": "loss,nope"})
        assert find(page, ids.RUN_METRIC_KEYS).value == ["loss"] and "alpha" in text(page)
        seen = find(page, ids.RUN_SEEN).data
        charts, table, notes, version, search = run.refresh_run(["loss"], run_id, seen)
        assert version == seen and search == "?metrics=loss" and "accuracy" in text(table)
        assert len(charts.children) == 1 and "No notes yet" in text(notes)
        figure = charts.children[0].children.figure
        assert list(figure.data[-1].y) == pytest.approx([1.0, 1.01, 1.02, 1.03, 1.04])
        metrics.log_points(core, seed.alice, run_id, [Point("loss", 0.5, 10, 1_800_000_000_000)])
        _, _, _, later, _ = run.refresh_run(["loss"], run_id, seen)
        assert later > seen
        run.add_note(1, run_id, "look at step 10", "loss", 10)
        _, _, notes, _, default_search = run.refresh_run(["accuracy", "loss"], run_id, later)
    assert "look at step 10" in text(notes) and default_search == ""


def test_run_page_header_says_who_ran_it_and_the_commit(backend: Any, core: Any, seed: Seed) -> None:
    made = runs.create_run(core, seed.alice, seed.experiment_id, "with-commit", git_commit="9fceb02d0ae598e95dc9",
                           tags={"mlflow.source.name": "train.py", "mlflow.source.type": "LOCAL"})
    with signed_in(backend, seed.alice):
        page = run.load_run(made["id"], {})
    header = text(page.children[0])
    assert "by alice" in header and "commit 9fceb02d" in header and "9fceb02d0" not in header
    environment = text(find(page, "run-environment"))
    assert "train.py" in environment and "LOCAL" in environment and "9fceb02d0ae598e95dc9" in environment


def test_run_page_chart_options_come_from_the_url_and_go_back_to_it(backend: Any, core: Any, seed: Seed) -> None:
    run_id = seed.run_ids[0]
    with signed_in(backend, seed.alice):
        page = run.load_run(run_id, {"metrics": "loss", "x": "wall", "logy": "1", "smooth": "0.6", "cols": "1"})
        assert find(page, ids.RUN_X_AXIS).value == "wall" and find(page, ids.RUN_LOG_Y).value is True
        assert find(page, ids.RUN_SMOOTH).value == 0.6 and find(page, ids.RUN_PER_ROW).value == "1"
        start = find(page, ids.RUN_START_MS).data
        assert start == 1_700_000_000_000
        seen = find(page, ids.RUN_SEEN).data
        charts, _, _, _, search = run.render(["loss"], "relative", True, 0.6, "1", seen, run_id, seen, start)
        assert search == "?metrics=loss&x=relative&logy=1&smooth=0.6&cols=1"
        column = charts.children[0]
        figure = column.children.figure
        assert column.md == 12 and figure.layout.yaxis.type == "log"
        assert figure.layout.xaxis.title.text.startswith("time since start (s)")
        assert list(figure.data[-1].x) == pytest.approx([0, 0.001, 0.002, 0.003, 0.004])  # logged 1 ms apart
        assert len(figure.data) == 2 and "smoothed" in figure.data[-1].hovertext[0]  # faint raw line behind
        _, _, _, _, bad = run.render(["accuracy", "loss"], "sideways", None, "lots", "9", seen, run_id, seen, start)
        _, _, _, _, default = run.render(["accuracy", "loss"], "step", False, 0, "2", seen, run_id, seen, start)
        assert bad == default == ""
        plain = run.load_run(run_id, {"x": "nonsense", "smooth": "-3"})
        assert find(plain, ids.RUN_X_AXIS).value == "step" and find(plain, ids.RUN_SMOOTH).value == 0.0


def test_run_page_tick_is_cheap_when_nothing_moved(backend: Any, core: Any, seed: Seed) -> None:
    run_id = seed.run_ids[1]
    with signed_in(backend, seed.alice):
        page = run.load_run(run_id, {})
        seen = find(page, ids.RUN_SEEN).data
        with pytest.raises(PreventUpdate):
            run.refresh_run(["loss"], run_id, seen, only_if_moved=True)
        known = find(page, ids.RUN_VERSION).data
        with pytest.raises(PreventUpdate):  # the tick only reads the counter; charts redraw when it moves
            run.poll_version(1, run_id, known)
        metrics.log_points(core, seed.alice, run_id, [Point("loss", 0.5, 99, 1_800_000_000_000)])
        assert run.poll_version(2, run_id, known) > known
        assert find(page, ids.RUN_TICK).disabled is False


def test_live_refresh_is_off_when_real_time_plots_are_disabled(backend: Any, core: Any, seed: Seed,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "settings", core.settings.with_overrides(enable_real_time_plots=False))
    with signed_in(backend, seed.alice):
        assert find(run.load_run(seed.run_ids[1], {}), ids.RUN_TICK).disabled is True
        assert find(experiment.load_experiment(seed.experiment_id, {}), ids.EXP_TICK).disabled is True


def test_run_of_another_team_is_not_found(backend: Any, core: Any, seed: Seed) -> None:
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob):
        page = run.load_run(seed.run_ids[0], {})
    assert "Not found" in text(page) and "alpha" not in text(page)


def test_nested_runs_link_both_ways(backend: Any, core: Any, seed: Seed) -> None:
    child = runs.create_run(core, seed.alice, seed.experiment_id, "fold-2", parent_run_id=seed.run_ids[2])
    with signed_in(backend, seed.alice):
        parent_page = run.load_run(seed.run_ids[2], {})
        child_page = run.load_run(child["id"], {})
    assert "fold-2" in text(find(parent_page, "run-child-runs"))
    assert "run-002" in text(find(child_page, "run-parent-run"))
