"""Artifact previews: kind detection, bounded reads, truncation, CSV tables, confusion matrix parsing."""
from __future__ import annotations

import json
from typing import Iterator

from services.artifact_preview import (MAX_ROWS, TEXT_LIMIT, build_preview, detect_kind, matrix_from_json,
                                       matrix_from_rows, read_head)


def info(name: str, type: str = "other", stored: bool = True) -> dict:
    return {"id": "a1", "name": name, "type": type, "stored": stored, "path": f"s3://bucket/{name}",
            "download_url": "/api/v1/runs/r/artifacts/a1/content" if stored else None}


class Chunks:
    """A byte iterator that counts what was pulled from it and whether it was closed."""

    def __init__(self, data: bytes, chunk: int = 4096, endless: bool = False) -> None:
        self.data, self.chunk, self.endless = data, chunk, endless
        self.pulled, self.closed = 0, False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.closed or (not self.endless and self.pulled >= len(self.data)):
            raise StopIteration
        part = b"x" * self.chunk if self.endless else self.data[self.pulled:self.pulled + self.chunk]
        self.pulled += len(part)
        return part

    def close(self) -> None:
        self.closed = True


def test_kind_by_extension_type_and_storage() -> None:
    assert [detect_kind(info(n)) for n in ("a.PNG", "b.jpeg", "c.svg", "d.webp", "plots/e.gif")] == ["image"] * 5
    assert detect_kind(info("train.log")) == "text" and detect_kind(info("README.md")) == "text"
    assert detect_kind(info("cfg.yaml")) == "text" and detect_kind(info("notes", type="text")) == "text"
    assert detect_kind(info("m.json")) == "json" and detect_kind(info("d.csv")) == "table"
    assert detect_kind(info("d.tsv")) == "table" and detect_kind(info("cm.txt", "confusion_matrix")) \
        == "confusion_matrix"
    assert detect_kind(info("model.pkl", "model")) == "none"
    assert detect_kind(info("model.png", stored=False)) == "uri"


def test_read_is_bounded_on_an_endless_stream_and_closes_it() -> None:
    stream = Chunks(b"", endless=True)
    head, truncated = read_head(stream, TEXT_LIMIT)
    assert len(head) == TEXT_LIMIT and truncated and stream.closed
    assert stream.pulled <= TEXT_LIMIT + 4096
    small = Chunks(b"hello")
    assert read_head(small, TEXT_LIMIT) == (b"hello", False) and small.closed


def test_text_preview_truncates_a_big_log() -> None:
    stream = Chunks(b"", chunk=65536, endless=True)  # a 2 GB log would look like this: never read it all
    preview = build_preview(info("train.log"), stream)
    assert preview["kind"] == "text" and preview["truncated"] and len(preview["text"]) == TEXT_LIMIT
    assert stream.pulled <= 2 * 65536 and stream.closed
    short = build_preview(info("train.log"), Chunks(b"epoch 1 loss 0.5\n"))
    assert short["text"] == "epoch 1 loss 0.5\n" and not short["truncated"]


def test_json_is_pretty_printed_and_bad_json_falls_back_to_text() -> None:
    preview = build_preview(info("metrics.json"), Chunks(b'{"b": [1, 2], "a": "x"}'))
    assert preview["kind"] == "json" and preview["text"] == json.dumps({"b": [1, 2], "a": "x"}, indent=2)
    broken = build_preview(info("metrics.json"), Chunks(b'{"b": '))
    assert broken["kind"] == "text" and "Not valid JSON" in broken["message"]
    big = build_preview(info("big.json"), Chunks(b"[" + b"1," * 100_000 + b"1]"))
    assert big["kind"] == "json" and big["truncated"] and len(big["text"]) == TEXT_LIMIT


def test_csv_shows_the_first_hundred_rows() -> None:
    data = "step,loss\n" + "".join(f"{i},{1 / (i + 1):.4f}\n" for i in range(500))
    preview = build_preview(info("loss.csv"), Chunks(data.encode()))
    assert preview["kind"] == "table" and preview["header"] == ["step", "loss"]
    assert len(preview["rows"]) == MAX_ROWS and preview["rows"][0] == ["0", "1.0000"] and preview["truncated"]
    tsv = build_preview(info("x.tsv"), Chunks(b"a\tb\n1\t2\n"))
    assert tsv["header"] == ["a", "b"] and tsv["rows"] == [["1", "2"]] and not tsv["truncated"]


def test_confusion_matrix_from_json_csv_and_type() -> None:
    body = {"labels": ["neg", "pos"], "matrix": [[144, 6], [10, 40]]}
    preview = build_preview(info("eval/cm.json"), Chunks(json.dumps(body).encode()))
    assert preview["kind"] == "confusion_matrix" and preview["labels"] == ["neg", "pos"]
    assert preview["matrix"] == [[144, 6], [10, 40]]
    labelled = build_preview(info("cm.csv"), Chunks(b",neg,pos\nneg,144,6\npos,10,40\n"))
    assert labelled["kind"] == "confusion_matrix" and labelled["matrix"] == [[144, 6], [10, 40]]
    typed = build_preview(info("matrix.csv", "confusion_matrix"), Chunks(b"cat,dog\n5,1\n2,7\n"))
    assert typed["kind"] == "confusion_matrix" and typed["labels"] == ["cat", "dog"]
    plain = build_preview(info("scores.csv"), Chunks(b"a,b\n5,1\n2,7\n"))  # square numbers, no hint: a table
    assert plain["kind"] == "table"


def test_matrix_parsers_reject_what_is_not_a_matrix() -> None:
    assert matrix_from_json({"labels": ["a"], "matrix": [[1, 2]]}) is None
    assert matrix_from_json({"matrix": [[1, "x"], [1, 2]]}) is None and matrix_from_json([1]) is None
    assert matrix_from_json({"matrix": [[1, 2], [3, 4]]})["labels"] == ["0", "1"]
    assert matrix_from_rows([["", "a", "b"], ["a", "1", "x"], ["b", "2", "3"]], hinted=True) is None
    assert matrix_from_rows([["", "a", "b"], ["c", "1", "2"], ["d", "2", "3"]], hinted=False) is None
    assert matrix_from_rows([["a"]], hinted=True) is None


def test_images_uris_and_binaries_read_nothing_or_little() -> None:
    stream = Chunks(b"", endless=True)
    image = build_preview(info("plot.png"), stream)
    assert image["kind"] == "image" and image["url"].endswith("/content") and stream.closed
    assert stream.pulled == 0
    uri = build_preview(info("model.pkl", "model", stored=False), None)
    assert uri["kind"] == "uri" and uri["uri"] == "s3://bucket/model.pkl"
    binary = build_preview(info("weights.log"), Chunks(b"\x00\x01\x02" * 100))
    assert binary["kind"] == "none" and "binary" in binary["message"]
