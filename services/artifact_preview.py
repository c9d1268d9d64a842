"""Artifact previews: decide what kind an artifact is and read a bounded head of its bytes into a preview dict."""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable

from services import artifacts
from services.context import Actor, Core

TEXT_LIMIT = 64 * 1024  # bytes of text / JSON shown
TABLE_LIMIT = 256 * 1024  # bytes read to find the first rows of a CSV
MAX_ROWS = 100
MAX_COLUMNS = 50
MAX_MATRIX = 100  # labels per side of a confusion matrix heatmap
IMAGE_EXT = {"png", "jpg", "jpeg", "gif", "webp", "svg"}
TEXT_EXT = {"txt", "log", "md", "markdown", "yaml", "yml", "toml", "ini", "cfg", "conf", "out", "err", "py", "sh",
            "rst", "xml", "html", "jsonl", "ndjson"}
TABLE_EXT = {"csv": ",", "tsv": "\t"}
TEXT_TYPES = {"text", "log", "config"}


def extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def detect_kind(info: dict) -> str:
    """uri | image | confusion_matrix | json | table | text | none — from stored flag, type and file extension."""
    ext = extension(info["name"])
    if not info.get("stored"):
        return "uri"
    if ext in IMAGE_EXT:
        return "image"
    if info.get("type") == "confusion_matrix":
        return "confusion_matrix"
    if ext == "json":
        return "json"
    if ext in TABLE_EXT:
        return "table"
    if ext in TEXT_EXT or info.get("type") in TEXT_TYPES:
        return "text"
    return "none"


def read_head(chunks: Iterable[bytes], limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes from the iterator, and whether more followed; the iterator is closed either way."""
    buffer = bytearray()
    truncated = False
    try:
        for chunk in chunks:
            buffer += chunk
            if len(buffer) > limit:
                truncated = True
                break
    finally:
        _close(chunks)
    return bytes(buffer[:limit]), truncated


def _close(chunks: Iterable[bytes] | None) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _decode(head: bytes) -> str:
    return head.decode("utf-8", errors="replace")


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def matrix_from_json(value: Any) -> dict | None:
    """{"labels": [...], "matrix": [[...]]} with a square numeric matrix → {"labels", "matrix"}; else None."""
    if not isinstance(value, dict) or not isinstance(value.get("matrix"), list):
        return None
    matrix = value["matrix"]
    size = len(matrix)
    if not 0 < size <= MAX_MATRIX or not all(isinstance(r, list) and len(r) == size for r in matrix):
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for r in matrix for v in r):
        return None
    labels = value.get("labels")
    labels = [str(x) for x in labels] if isinstance(labels, list) and len(labels) == size \
        else [str(i) for i in range(size)]
    return {"labels": labels, "matrix": matrix}


def matrix_from_rows(rows: list[list[str]], hinted: bool) -> dict | None:
    """A square numeric CSV with a header: either the header names the columns and each row starts with the same
    label, or (when the artifact is known to be a confusion matrix) the header alone names n numeric columns."""
    if len(rows) < 2:
        return None
    header, body = rows[0], rows[1:]
    size = len(body)
    if size > MAX_MATRIX:
        return None
    if len(header) == size + 1 and all(len(r) == size + 1 for r in body):
        labels = header[1:]
        if not hinted and [r[0] for r in body] != labels:
            return None
        cells = [r[1:] for r in body]
    elif hinted and len(header) == size and all(len(r) == size for r in body):
        labels, cells = header, body
    else:
        return None
    numbers = [[_number(c) for c in r] for r in cells]
    if any(v is None for r in numbers for v in r):
        return None
    return {"labels": [str(x) for x in labels],
            "matrix": [[int(v) if float(v).is_integer() else v for v in r] for r in numbers]}


def _table_rows(head: bytes, truncated: bool, delimiter: str) -> list[list[str]]:
    text = _decode(head)
    if truncated and "\n" in text:
        text = text[:text.rindex("\n")]  # the last line was cut in the middle
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return [row[:MAX_COLUMNS] for _, row in zip(range(MAX_ROWS + 2), reader)]
    except csv.Error:
        return []


def build_preview(info: dict, chunks: Iterable[bytes] | None) -> dict:
    """The preview dict for an artifact: kind plus text / header+rows / labels+matrix / url / uri, truncated."""
    kind = detect_kind(info)
    base = {"kind": kind, "name": info["name"], "type": info.get("type"), "truncated": False,
            "url": info.get("download_url"), "uri": info.get("path")}
    if kind in ("uri", "image", "none") or chunks is None:
        _close(chunks)
        return base
    hinted = kind == "confusion_matrix" or "confusion" in info["name"].lower()
    ext = extension(info["name"])
    limit = TABLE_LIMIT if ext in TABLE_EXT else TEXT_LIMIT
    head, truncated = read_head(chunks, limit)
    if b"\x00" in head[:8192]:
        return {**base, "kind": "none", "message": "This file looks binary."}
    if ext in TABLE_EXT:
        return _table_preview(base, head, truncated, TABLE_EXT[ext], hinted)
    if ext == "json" or kind == "confusion_matrix":
        return _json_preview(base, head, truncated)
    return {**base, "kind": "text", "text": _decode(head), "truncated": truncated}


def _table_preview(base: dict, head: bytes, truncated: bool, delimiter: str, hinted: bool) -> dict:
    rows = _table_rows(head, truncated, delimiter)
    matrix = None if truncated else matrix_from_rows(rows, hinted)
    if matrix:
        return {**base, "kind": "confusion_matrix", **matrix}
    if not rows:
        return {**base, "kind": "text", "text": _decode(head), "truncated": truncated}
    body = rows[1:]
    more = truncated or len(body) > MAX_ROWS
    return {**base, "kind": "table", "header": rows[0], "rows": body[:MAX_ROWS], "truncated": more}


def _json_preview(base: dict, head: bytes, truncated: bool) -> dict:
    text = _decode(head)
    if truncated:
        return {**base, "kind": "json", "text": text, "truncated": True}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {**base, "kind": "text", "text": text, "message": "Not valid JSON; shown as text."}
    matrix = matrix_from_json(value)
    if matrix:
        return {**base, "kind": "confusion_matrix", **matrix}
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    cut = len(pretty.encode()) > TEXT_LIMIT
    return {**base, "kind": "json", "text": pretty.encode()[:TEXT_LIMIT].decode("utf-8", "ignore"),
            "truncated": cut}


def artifact_info(core: Core, actor: Actor, run_id: str, artifact_id: str) -> dict:
    """One artifact's metadata, permission-checked (also for artifacts registered by URI only)."""
    with core.sessions() as session:
        _run, art = artifacts.find_artifact(session, actor, run_id, artifact_id)
        return artifacts.artifact_dict(art, run_id)


def preview_artifact(core: Core, actor: Actor, run_id: str, artifact_id: str) -> dict:
    """Read only what the preview needs: nothing for images (but check their bytes exist) and URIs, a bounded head
    for the rest."""
    info = artifact_info(core, actor, run_id, artifact_id)
    if detect_kind(info) in ("uri", "none"):
        return build_preview(info, None)
    info, chunks = artifacts.open_artifact(core, actor, run_id, artifact_id)
    return build_preview(info, chunks)
