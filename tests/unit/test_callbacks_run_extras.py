"""Run page extras as plain callbacks on a real core: the artifact list and previews, the tag editor."""
from __future__ import annotations

import io
import json
from typing import Any

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from callbacks import run_artifacts, run_tags
from components import ids
from components.artifacts import human_size
from services import accounts, artifacts, runs
from tests.browser.seed import PASSWORD, Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, text, walk

CM = {"labels": ["negative", "positive"], "matrix": [[144, 6], [10, 40]]}


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=2)


@pytest.fixture
def viewer(core: Any, seed: Seed) -> Any:
    accounts.create_user(core, None, "victor", PASSWORD)
    accounts.set_membership(core, None, "ml-team", "victor", "viewer")
    return accounts.authenticate(core, "victor", PASSWORD)


def as_sent(tree: Any) -> Any:
    """A component tree as the browser sends it back in a State (plain JSON)."""
    return json.loads(json.dumps(tree, default=lambda c: c.to_plotly_json()))


def _upload(core: Any, seed: Seed, name: str, data: bytes, kind: str = "other") -> dict:
    return artifacts.upload(core, seed.alice, seed.run_ids[0], name, io.BytesIO(data), type=kind)


def test_human_sizes() -> None:
    assert [human_size(n) for n in (None, 0, 1023, 1536, 5 * 1024**3)] == ["—", "0 B", "1023 B", "1.5 KB", "5.0 GB"]


def test_empty_run_shows_how_to_upload(backend: Any, seed: Seed) -> None:
    rid = seed.run_ids[0]
    with signed_in(backend, seed.alice):
        frame = run_artifacts.render_panel(0, rid, None, "#artifact=abc")
        listing = run_artifacts.render_list(0, 50, None, rid)
        with pytest.raises(PreventUpdate):  # drawn once: a version move must not close the preview
            run_artifacts.render_panel(1, rid, as_sent(frame), "")
    assert find(frame, ids.ART_SELECTED).data == "abc" and find(frame, ids.ART_LIST) is not None
    words = text(listing)
    assert "No artifacts yet" in words and f"/api/v1/runs/{rid}/artifacts" in words and "log_artifact" in words


def test_list_shows_each_artifact_and_pages_by_show_more(backend: Any, core: Any, seed: Seed) -> None:
    rid = seed.run_ids[0]
    csv = _upload(core, seed, "eval/loss.csv", b"step,loss\n1,0.5\n2,0.25\n", "table")
    for i in range(54):
        artifacts.register(core, seed.alice, rid, f"ckpt/{i:02d}.pt", f"s3://models/{i}.pt", "model", 2048)
    with signed_in(backend, seed.alice):
        listing = run_artifacts.render_list(0, 50, csv["id"], rid)
        more = run_artifacts.render_list(0, run_artifacts.show_more(1, 50), None, rid)
    words = text(listing)
    assert "55 artifacts" in words and "ckpt/00.pt" in words and "2.0 KB" in words and "model" in words
    assert "eval/loss.csv" not in words  # sorted by name: it is on the next page
    assert "Show more (5 more)" in words and "s3://models/0.pt" in words
    assert "eval/loss.csv" in text(more) and "Show more" not in text(more)
    links = [n.href for n in walk(more) if getattr(n, "href", None)]
    assert csv["download_url"] in links
    with pytest.raises(PreventUpdate):
        run_artifacts.show_more(None, 50)


def test_previews_by_kind_and_the_address_bar(backend: Any, core: Any, seed: Seed) -> None:
    rid = seed.run_ids[0]
    table = _upload(core, seed, "loss.csv", b"step,loss\n1,0.5\n2,0.25\n", "table")
    matrix = _upload(core, seed, "cm.json", json.dumps(CM).encode(), "confusion_matrix")
    image = _upload(core, seed, "roc.png", b"\x89PNG fake", "image")
    model = _upload(core, seed, "model.bin", b"\x00" * 100, "model")
    remote = artifacts.register(core, seed.alice, rid, "big.ckpt", "s3://models/big.ckpt", "model")
    with signed_in(backend, seed.alice):
        shown = {a["name"]: run_artifacts.show_preview(a["id"], rid) for a in (table, matrix, image, model, remote)}
        missing = run_artifacts.show_preview("no-such-artifact", rid)
        lost = _upload(core, seed, "lost.png", b"\x89PNG gone", "image")
        core.store.delete(f"{seed.experiment_id}/{rid}/lost.png")
        gone = run_artifacts.show_preview(lost["id"], rid)
        assert run_artifacts.show_preview(None, rid) == (None, no_update)
    pane, url_hash = shown["loss.csv"]
    assert url_hash == f"#artifact={table['id']}" and "step loss 1 0.5 2 0.25" in text(pane)
    graph = next(n for n in walk(shown["cm.json"][0]) if type(n).__name__ == "Graph")
    heat = graph.figure.data[0]
    assert heat.type == "heatmap" and list(heat.x) == ["negative", "positive"] and heat.texttemplate == "%{z}"
    img = next(n for n in walk(shown["roc.png"][0]) if type(n).__name__ == "Img")
    assert img.src == f"{image['download_url']}?inline=1"
    assert "No preview for this type" in text(shown["model.bin"][0])
    assert "s3://models/big.ckpt" in text(shown["big.ckpt"][0])
    assert "not found" in text(missing[0]) and missing[1] == ""
    assert "missing from the store" in text(gone[0]) and not any(type(n).__name__ == "Img" for n in walk(gone[0]))


def test_a_click_chooses_an_artifact_a_redraw_does_not() -> None:
    assert run_artifacts.chosen({"type": ids.ART_PICK, "id": "a1"}, [None, 1]) == "a1"
    with pytest.raises(PreventUpdate):
        run_artifacts.chosen({"type": ids.ART_PICK, "id": "a1"}, [None, None])
    assert run_artifacts.selected_from_hash("#artifact=xyz") == "xyz" and run_artifacts.selected_from_hash("") is None


def test_viewers_see_tags_read_only(backend: Any, core: Any, seed: Seed, viewer: Any) -> None:
    rid = seed.run_ids[0]
    runs.update_run(core, seed.alice, rid, tags={"stage": "dev"})
    with signed_in(backend, viewer):
        card = run_tags.render_tags(0, rid, None)
        assert find(card, ids.TAG_EDIT) is None and "stage dev" in text(card)
        assert find(run_tags.start_edit(1, rid), ids.TAG_EDITOR) is None
        _, message = run_tags.save_tags(1, rid, [], [], [], [], "x", "y")
    assert "editor role" in text(message) and "x" not in runs.get_run(core, seed.alice, rid)["tags"]


def test_editor_adds_changes_and_removes_tags(backend: Any, core: Any, seed: Seed) -> None:
    rid = seed.run_ids[0]
    runs.update_run(core, seed.alice, rid, tags={"stage": "dev", "owner": "alice"})
    with signed_in(backend, seed.alice):
        card = run_tags.render_tags(0, rid, None)
        assert find(card, ids.TAG_EDIT) is not None
        editor = run_tags.start_edit(1, rid)
        assert find(editor, {"type": ids.TAG_VALUE, "key": "stage"}).value == "dev"
        with pytest.raises(PreventUpdate):  # the open editor is not redrawn under the user's hands
            run_tags.render_tags(1, rid, as_sent(editor))
        keys = [{"type": ids.TAG_VALUE, "key": "owner"}, {"type": ids.TAG_VALUE, "key": "stage"}]
        removes = [{"type": ids.TAG_REMOVE, "key": "owner"}, {"type": ids.TAG_REMOVE, "key": "stage"}]
        view, _ = run_tags.save_tags(1, rid, keys, ["alice", "prod"], removes, [True, False], " dataset ", "v2")
        with pytest.raises(PreventUpdate):  # the live redraw after the save changes nothing: "Saved." stays
            run_tags.render_tags(2, rid, as_sent(view))
        runs.update_run(core, seed.alice, rid, tags={"stage": "prod", "dataset": "v2", "by": "api"})
        assert "by api" in text(run_tags.render_tags(3, rid, as_sent(view)))  # someone else's change shows
    assert runs.get_run(core, seed.alice, rid)["tags"] == {"stage": "prod", "dataset": "v2", "by": "api"}
    assert "Saved." in text(view) and "dataset v2" in text(view) and "owner" not in text(view)


def test_bad_tag_edits_write_nothing(backend: Any, core: Any, seed: Seed) -> None:
    rid = seed.run_ids[0]
    runs.update_run(core, seed.alice, rid, tags={"stage": "dev"})
    with signed_in(backend, seed.alice):
        bad_key = run_tags.save_tags(1, rid, [], [], [], [], "bad key!", "v")
        no_key = run_tags.save_tags(1, rid, [], [], [], [], "", "orphan value")
        nothing = run_tags.save_tags(1, rid, [{"type": ids.TAG_VALUE, "key": "stage"}], ["dev"], [], [], None, None)
        runs.update_run(core, seed.alice, rid, status="FINISHED", locked=True)
        locked = run_tags.save_tags(1, rid, [], [], [], [], "new", "x")
        assert runs.get_run(core, seed.alice, rid)["tags"] == {"stage": "dev"}
        runs.update_run(core, seed.alice, rid, locked=False)
        runs.delete_run(core, seed.alice, rid)
        deleted = run_tags.save_tags(1, rid, [], [], [], [], "new", "x")
    assert bad_key[0] is no_update and "may contain letters" in text(bad_key[1])
    assert "Enter a key" in text(no_key[1]) and "Nothing changed" in text(nothing[1])
    assert "locked" in text(locked[1]) and locked[0] is no_update
    assert "not found" in text(deleted[1]) and deleted[0] is no_update
