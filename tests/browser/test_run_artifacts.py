"""Run page in the browser: the artifact list, CSV / confusion-matrix / image previews, editing a tag."""
from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

from services import artifacts, experiments, runs
from tests.browser.conftest import full_shot, login
from tests.browser.seed import Seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CM = {"labels": ["negative", "positive"], "matrix": [[144, 6], [10, 40]]}


def png(width: int = 64, height: int = 32) -> bytes:
    """A small RGB gradient PNG, written by hand (no imaging library needed)."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (4 * x, 8 * y, 200)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@dataclass
class Arts:
    run_id: str
    csv_id: str
    cm_id: str
    image_id: str


@pytest.fixture(scope="module")
def arts(duo: DashComposite, seed: Seed) -> Iterator[Arts]:
    """A run in the churn project with an image, a CSV and a JSON confusion matrix; the browser is left signed out."""
    core, alice = seed.core, seed.alice
    exp = experiments.create_experiment(core, alice, seed.other_project_id, "artifact-demo")
    run = runs.create_run(core, alice, exp["id"], "with-artifacts", tags={"stage": "dev"})
    table = "epoch,loss,accuracy\n" + "".join(f"{i},{1 / (i + 1):.3f},{0.5 + i / 400:.3f}\n" for i in range(150))
    csv = artifacts.upload(core, alice, run["id"], "eval/history.csv", io.BytesIO(table.encode()), type="table")
    cm = artifacts.upload(core, alice, run["id"], "eval/confusion.json", io.BytesIO(json.dumps(CM).encode()),
                          type="confusion_matrix")
    image = artifacts.upload(core, alice, run["id"], "plots/roc.png", io.BytesIO(png()), type="image")
    artifacts.register(core, alice, run["id"], "model.pkl", "s3://experiments/run-001/model.pkl", "model", 1024000)
    yield Arts(run["id"], csv["id"], cm["id"], image["id"])
    duo.driver.get(f"{duo.server.url}/logout")


def _open(duo: DashComposite, name: str) -> None:
    button = next(b for b in duo.find_elements("#art-list .art-name") if b.text == name)
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", button)


def test_artifact_list_and_previews(duo: DashComposite, arts: Arts) -> None:
    login(duo, "alice", next_path=f"/runs/{arts.run_id}")
    duo.wait_for_contains_text("#art-list", "4 artifacts")
    listing = duo.find_element("#art-list").text
    for words in ("eval/history.csv", "eval/confusion.json", "plots/roc.png", "model.pkl", "1000.0 KB",
                  "s3://experiments/run-001/model.pkl", "confusion_matrix"):
        assert words in listing
    assert len(duo.find_elements("#art-list a[href$='/content']")) == 3  # stored ones download; the URI does not

    _open(duo, "eval/history.csv")
    duo.wait_for_element("#art-preview table.art-csv")
    header = [th.text for th in duo.find_elements("#art-preview table.art-csv th")]
    assert header == ["epoch", "loss", "accuracy"]
    assert len(duo.find_elements("#art-preview table.art-csv tbody tr")) == 100
    assert "Truncated: showing only the first 100 rows" in duo.find_element("#art-preview").text
    assert urlsplit(duo.driver.current_url).fragment == f"artifact={arts.csv_id}"
    full_shot(duo, "artifacts-00-csv")

    _open(duo, "eval/confusion.json")
    duo.wait_for_element("#art-preview .js-plotly-plot .heatmaplayer")
    cells = [t.text for t in duo.find_elements("#art-preview .js-plotly-plot text.textpoint, "
                                               "#art-preview .js-plotly-plot .heatmaplayer text")]
    assert {"144", "6", "10", "40"} <= set(cells)
    full_shot(duo, "artifacts-01-heatmap")
    assert duo.get_logs() == []

    _open(duo, "plots/roc.png")
    duo.wait_for_element("#art-preview img.art-image")
    image = duo.find_element("#art-preview img.art-image")
    WebDriverWait(duo.driver, 10).until(  # the browser decoded the PNG served inline
        lambda driver: driver.execute_script("return arguments[0].naturalWidth", image) == 64)
    full_shot(duo, "artifacts-02-image")
    assert duo.get_logs() == []


def test_a_copied_link_opens_the_same_preview(duo: DashComposite, arts: Arts) -> None:
    login(duo, "alice")
    duo.wait_for_contains_text("#projects-grid", "churn")
    duo.driver.get(f"{duo.server.url}/runs/{arts.run_id}#artifact={arts.cm_id}")  # a fresh load, as a pasted link
    duo.wait_for_element("#art-preview .js-plotly-plot .heatmaplayer")
    assert "eval/confusion.json" in duo.find_element("#art-preview").text
    assert duo.get_logs() == []


def test_editor_changes_a_tag_and_it_stays_after_reload(duo: DashComposite, arts: Arts) -> None:
    login(duo, "alice", next_path=f"/runs/{arts.run_id}")
    duo.wait_for_element("#tag-edit")
    assert "stage dev" in duo.find_element("#tag-view").text
    duo.driver.execute_script("arguments[0].click()", duo.find_element("#tag-edit"))
    duo.wait_for_element("#tag-new-key")
    duo.find_element("#tag-new-key").send_keys("bad key!")
    duo.driver.execute_script("arguments[0].click()", duo.find_element("#tag-save"))
    duo.wait_for_contains_text("#tag-message", "may contain letters")
    duo.find_element("#tag-new-key").clear()
    duo.find_element("#tag-new-key").send_keys("dataset")
    duo.find_element("#tag-new-value").send_keys("mimic-v2")
    value = duo.find_element("#tag-editor input[id*='tag-value']")
    value.clear()
    value.send_keys("prod")
    full_shot(duo, "artifacts-03-tag-editor")
    duo.driver.execute_script("arguments[0].click()", duo.find_element("#tag-save"))
    duo.wait_for_contains_text("#tag-view", "dataset")
    assert "stage prod" in duo.find_element("#tag-view").text and "Saved." in duo.find_element("#run-tags").text
    assert duo.get_logs() == []

    duo.driver.refresh()
    duo.wait_for_contains_text("#tag-view", "mimic-v2")
    assert "stage prod" in duo.find_element("#tag-view").text
    full_shot(duo, "artifacts-04-tags-saved")
    assert duo.get_logs() == []
