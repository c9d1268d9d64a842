"""Project page callbacks as plain functions: best metric column, compare experiments, settings and sharing."""
from __future__ import annotations

from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from callbacks import project, project_settings
from components import ids
from services import accounts, comparison, metrics, projects, runs
from services.metrics import Point
from tests.browser.seed import PASSWORD, Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, text, triggered

ROLE = ids.PROJECT_SHARE_ROLE
REMOVE = ids.PROJECT_SHARE_REMOVE


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=6)


def _admin_alice(core: Any) -> Any:
    accounts.set_membership(core, None, "ml-team", "alice", "admin")
    return accounts.authenticate(core, "alice", PASSWORD)


def _second_experiment_runs(seed: Seed) -> list[str]:
    made = []
    for i, acc in enumerate((0.95, 0.93, 0.94)):
        run = runs.create_run(seed.core, seed.alice, seed.empty_experiment_id, f"bert-{i}", {})
        metrics.log_points(seed.core, seed.alice, run["id"], [Point("accuracy", acc, 0, 1_700_000_000_000),
                                                              Point("loss", 0.1 + i / 100, 0, 1_700_000_000_000)])
        made.append(run["id"])
    return made


def _rows(page: Any) -> dict[str, dict]:
    return {row["name"]: row for row in find(page, ids.PROJECT_GRID).rowData}


def test_best_column_follows_the_url_metric_and_mode(backend: Any, seed: Seed) -> None:
    bert = _second_experiment_runs(seed)
    with signed_in(backend, seed.alice):
        page = project.load_project(seed.project_id, {})
        loss = project.load_project(seed.project_id, {"metric": "loss"})
        worst = project.load_project(seed.project_id, {"metric": "accuracy", "mode": "min"})
    rows = _rows(page)
    assert find(page, ids.PROJECT_METRIC).value == "accuracy" and find(page, ids.PROJECT_MODE).value == "max"
    assert find(page, ids.PROJECT_METRIC).options == ["accuracy", "loss"]
    assert rows["baseline-model-v1"]["best_value"] == pytest.approx(0.829)
    assert rows["baseline-model-v1"]["best_run"] == f"[run-005](/runs/{seed.run_ids[5]})"
    assert rows["bert-finetune"]["best_value"] == pytest.approx(0.95)
    assert rows["bert-finetune"]["best_run_name"] == "bert-0" and rows["bert-finetune"]["last_activity"]
    headers = [c.get("headerName") for c in find(page, ids.PROJECT_GRID).columnDefs]
    assert "best accuracy" in headers and "Last activity" in headers
    assert find(loss, ids.PROJECT_MODE).value == "min"  # loss: lower is better by default
    assert _rows(loss)["bert-finetune"]["best_run"] == f"[bert-0](/runs/{bert[0]})"
    assert _rows(worst)["baseline-model-v1"]["best_value"] == pytest.approx(0.804)


def test_changing_the_metric_resets_the_mode_and_writes_the_url(backend: Any, seed: Seed) -> None:
    _second_experiment_runs(seed)
    with signed_in(backend, seed.alice), triggered(ids.PROJECT_METRIC, "value", "loss"):
        rows, columns, mode, search, compare_keys, error = project.change_metric("loss", "max", seed.project_id)
    assert mode == "min" and search == "?metric=loss&mode=min" and compare_keys == ["loss"] and error is None
    assert {r["name"]: r["best_value"] for r in rows}["bert-finetune"] == pytest.approx(0.10)
    assert "best loss" in [c.get("headerName") for c in columns]
    with signed_in(backend, seed.alice), triggered(ids.PROJECT_MODE, "value", "max"):
        rows, _, mode, search, _, _ = project.change_metric("loss", "max", seed.project_id)
    assert mode == "max" and search == "?metric=loss&mode=max"
    assert {r["name"]: r["best_value"] for r in rows}["bert-finetune"] == pytest.approx(0.12)


def test_compare_needs_two_experiments_then_opens_the_stored_comparison(backend: Any, seed: Seed) -> None:
    _second_experiment_runs(seed)
    both = [{"id": seed.experiment_id}, {"id": seed.empty_experiment_id}]
    assert project.selection_changed([]) == (True, "")
    assert project.selection_changed(both[:1]) == (True, "1 selected · pick one more")
    assert project.selection_changed(both) == (False, "2 selected")
    with signed_in(backend, seed.alice):
        error, href = project.compare_experiments(1, both[:1], ["accuracy"], "accuracy", "max")
        assert "at least two" in text(error) and href is project.no_update
        error, href = project.compare_experiments(1, both, [], "accuracy", "max")
        assert "at least one metric" in text(error)
        error, href = project.compare_experiments(1, both, ["no_such_metric"], "accuracy", "max")
        assert "no run of these experiments has a value" in text(error) and href is project.no_update
        error, href = project.compare_experiments(1, both, ["accuracy", "loss"], "loss", "max")
        assert error is None and href.startswith("/visualizations/")
        stored = comparison.get_comparison(seed.core, seed.alice, href.rsplit("/", 1)[1])
    assert stored["request"]["experiment_ids"] == [seed.experiment_id, seed.empty_experiment_id]
    assert stored["request"]["mode"] == {"accuracy": "max", "loss": "max"}  # the page's direction for its metric


def test_viewer_sees_no_settings_and_editor_cannot_share(backend: Any, core: Any, seed: Seed) -> None:
    accounts.create_user(core, None, "vera", PASSWORD)
    accounts.set_membership(core, None, "ml-team", "vera", "viewer")
    vera = accounts.authenticate(core, "vera", PASSWORD)
    with signed_in(backend, vera):
        page = project.load_project(seed.project_id, {})
    assert find(page, ids.PROJECT_SETTINGS_OPEN) is None and find(page, ids.PROJECT_SETTINGS_MODAL) is None
    assert find(page, ids.PROJECT_TRENDS_LINK).href == f"/projects/{seed.project_id}/trends"
    with signed_in(backend, seed.alice):
        page = project.load_project(seed.project_id, {})
        with triggered(ids.PROJECT_SHARE_ADD, "n_clicks", 1):
            shares, message, _ = project_settings.change_share(1, [], [], seed.project_id, "other-team", "viewer")
    assert find(page, ids.PROJECT_SETTINGS_OPEN) is not None and find(page, ids.PROJECT_SHARE_ADD) is None
    assert "Only project admins can change sharing" in text(page)
    assert "admin role" in text(message) and shares is project_settings.no_update
    assert projects.list_shares(core, seed.alice, seed.project_id) == []


def test_save_settings_updates_the_header_and_rejects_bad_tags(backend: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        error, is_open, header = project_settings.save_settings(1, seed.project_id, "Clinical NLP models",
                                                                 "clinical, nlp")
        assert error is None and is_open is False
        assert "Clinical NLP models" in text(header) and "clinical" in text(header)
        error, is_open, header = project_settings.save_settings(1, seed.project_id, "x", "bad tag!" * 40)
        assert text(error) and is_open is project_settings.no_update and header is project_settings.no_update
        with pytest.raises(PreventUpdate):
            project_settings.save_settings(None, seed.project_id, "x", "")
    assert projects.get_project(seed.core, seed.alice, seed.project_id)["description"] == "Clinical NLP models"


def test_admin_shares_changes_and_removes_a_team(backend: Any, core: Any, seed: Seed) -> None:
    alice = _admin_alice(core)
    with signed_in(backend, alice):
        with triggered(ids.PROJECT_SHARE_ADD, "n_clicks", 1):
            _, message, _ = project_settings.change_share(1, [], [], seed.project_id, "no-such-team", "viewer")
            assert "team 'no-such-team' not found" in text(message)
            _, message, _ = project_settings.change_share(1, [], [], seed.project_id, "  ", "viewer")
            assert "Type the name of the team" in text(message)
            shares, message, cleared = project_settings.change_share(1, [], [], seed.project_id, "other-team",
                                                                     "viewer")
        assert "Shared with other-team as viewer" in text(message) and cleared == ""
        assert find(shares, {"type": ROLE, "team": "other-team"}).value == "viewer"
        with triggered({"type": ROLE, "team": "other-team"}, "value", "editor"):
            project_settings.change_share(1, ["editor"], [None], seed.project_id, "", "viewer")
        assert projects.list_shares(core, alice, seed.project_id) == [{"team": "other-team", "role": "editor"}]
        with triggered({"type": ROLE, "team": "other-team"}, "value", "editor"), pytest.raises(PreventUpdate):
            project_settings.change_share(1, ["editor"], [None], seed.project_id, "", "viewer")  # no change
        with triggered({"type": REMOVE, "team": "other-team"}, "n_clicks", 1):
            shares, message, _ = project_settings.change_share(1, ["editor"], [1], seed.project_id, "", "viewer")
    assert "Not shared" in text(shares) and "Removed the share with other-team" in text(message)
    assert projects.list_shares(core, alice, seed.project_id) == []
