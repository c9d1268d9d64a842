"""Integration tests for storage/: LocalStore on a temp dir and S3Store on a real moto server."""
from __future__ import annotations

import hashlib
import io
import random
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import urllib3
from minio import Minio

from config import Settings
from storage import (
    ArtifactStore,
    InvalidKey,
    LocalStore,
    ObjectInfo,
    ObjectNotFound,
    S3Store,
    StorageError,
    make_store,
    validate_key,
)
from tests.s3_server import free_port, moto_server

MiB = 1024 * 1024
BAD_KEYS = ["../x", "a/../../x", "/abs", "a//b", "a/", "./a", "a\\b", "a\x00b", "", "k" * 1025]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def _client(endpoint: str) -> Minio:
    return Minio(endpoint, "test", "test", secure=False, region="us-east-1")


def _bucket() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return LocalStore(tmp_path / "artifacts")
    return S3Store(_client(request.getfixturevalue("s3_endpoint")), _bucket())


class RecordingStream(io.BytesIO):
    """A real in-memory stream that remembers the size of every read() request."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.requests: list[int | None] = []

    def read(self, size: int | None = -1) -> bytes:
        self.requests.append(size)
        return super().read(size)


class FailingStream(io.RawIOBase):
    """Yields `good` bytes, then raises, like a client that disconnects mid-upload."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        if self.left <= 0:
            raise RuntimeError("client went away")
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


def _put(store: ArtifactStore, key: str, data: bytes):
    return store.put(key, io.BytesIO(data))


def test_store_satisfies_protocol(store: ArtifactStore) -> None:
    assert isinstance(store, ArtifactStore)
    assert store.kind in {"local", "s3"}


def test_small_round_trip(store: ArtifactStore) -> None:
    data = b"hello artifacts\n"
    stored = store.put("runs/1/notes.txt", io.BytesIO(data), "text/plain")
    assert stored.key == "runs/1/notes.txt"
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.uri == store.uri("runs/1/notes.txt")
    assert b"".join(store.open("runs/1/notes.txt")) == data
    assert store.size("runs/1/notes.txt") == len(data)
    assert store.exists("runs/1/notes.txt")


def test_uri_format(store: ArtifactStore) -> None:
    stored = _put(store, "a/b.bin", b"1")
    if isinstance(store, S3Store):
        assert stored.uri == f"s3://{store.bucket}/a/b.bin"
    else:
        assert stored.uri.startswith("file:///") and stored.uri.endswith("/artifacts/a/b.bin")
        assert (store.root / "a" / "b.bin").read_bytes() == b"1"


def test_multi_megabyte_round_trip_streams(store: ArtifactStore) -> None:
    data = random.Random(1234).randbytes(12 * MiB + 321)  # > one 10 MiB part: multipart on S3
    stream = RecordingStream(data)
    stored = store.put("big/blob.bin", stream)
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert all(n is not None and 0 < n <= 10 * MiB + 1 for n in stream.requests), stream.requests
    chunks = list(store.open("big/blob.bin", chunk_size=MiB))
    assert all(len(c) <= MiB for c in chunks)
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == stored.sha256
    assert store.size("big/blob.bin") == len(data)


def test_empty_object(store: ArtifactStore) -> None:
    stored = _put(store, "empty", b"")
    assert (stored.size, stored.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert b"".join(store.open("empty")) == b""
    assert store.exists("empty") and store.size("empty") == 0


def test_put_overwrites(store: ArtifactStore) -> None:
    _put(store, "k", b"first version")
    stored = _put(store, "k", b"second")
    assert stored.size == 6
    assert b"".join(store.open("k")) == b"second"


def test_missing_key(store: ArtifactStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.open("nothing/here")  # before anything was written (no S3 bucket yet)
    _put(store, "something", b"x")
    with pytest.raises(ObjectNotFound):
        store.open("nothing/here")
    with pytest.raises(ObjectNotFound):
        store.size("nothing/here")
    assert not store.exists("nothing/here")
    assert issubclass(ObjectNotFound, StorageError)


def test_list_with_prefix(store: ArtifactStore) -> None:
    for key, body in [("runs/1/a", b"a"), ("runs/1/sub/b", b"bb"), ("runs/10/c", b"ccc"), ("other/d", b"dddd")]:
        _put(store, key, body)
    assert store.list("runs/1/") == [ObjectInfo("runs/1/a", 1), ObjectInfo("runs/1/sub/b", 2)]
    assert [o.key for o in store.list("runs/1")] == ["runs/1/a", "runs/1/sub/b", "runs/10/c"]
    assert [o.key for o in store.list("")] == ["other/d", "runs/1/a", "runs/1/sub/b", "runs/10/c"]
    assert store.list("nope/") == []


def test_list_before_any_write(store: ArtifactStore) -> None:
    assert store.list("") == []


def test_delete(store: ArtifactStore) -> None:
    _put(store, "d/one", b"1")
    _put(store, "d/two", b"2")
    store.delete("d/one")
    assert not store.exists("d/one")
    with pytest.raises(ObjectNotFound):
        store.open("d/one")
    store.delete("d/one")  # already gone: fine
    store.delete("never/existed")
    assert store.list("d/") == [ObjectInfo("d/two", 1)]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_rejected(store: ArtifactStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, io.BytesIO(b"x"))
    for call in (store.open, store.size, store.exists, store.delete, store.uri):
        with pytest.raises(InvalidKey):
            call(key)
    assert store.list("") == []


def test_validate_key() -> None:
    for key in ["a", "runs/1/model.pkl", ".hidden/x", "a b/c-d_e.f", "k" * 1024]:
        assert validate_key(key) == key
    for key in BAD_KEYS:
        with pytest.raises(InvalidKey):
            validate_key(key)


def test_failed_upload_leaves_nothing(store: ArtifactStore) -> None:
    with pytest.raises(RuntimeError):
        store.put("partial/file.bin", io.BufferedReader(FailingStream(MiB)))
    assert not store.exists("partial/file.bin")
    assert store.list("") == []
    if isinstance(store, LocalStore):
        assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_check_passes_and_cleans_up(store: ArtifactStore) -> None:
    store.check()
    assert store.list("") == []


def test_early_close_of_open(store: ArtifactStore) -> None:
    _put(store, "chunky", b"z" * (3 * MiB))
    for _ in range(15):  # more than the client's connection pool
        chunks = store.open("chunky", chunk_size=1024)
        assert next(iter(chunks)) == b"z" * 1024
        chunks.close()  # type: ignore[attr-defined]
        assert list(chunks) == []
    assert b"".join(store.open("chunky")) == b"z" * (3 * MiB)


def test_local_store_never_escapes_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    store = LocalStore(root)
    with pytest.raises(InvalidKey):
        store.put("link/x", io.BytesIO(b"x"))
    assert list(outside.iterdir()) == []


def test_local_check_fails_on_unwritable_root(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    with pytest.raises(StorageError) as info:
        LocalStore(blocker / "artifacts").check()
    assert "\n" not in str(info.value)


def test_s3_bucket_already_exists(s3_endpoint: str) -> None:
    client, bucket = _client(s3_endpoint), _bucket()
    client.make_bucket(bucket)
    first, second = S3Store(client, bucket), S3Store(client, bucket)
    _put(first, "a", b"1")
    _put(second, "b", b"2")
    assert [o.key for o in first.list("")] == ["a", "b"]


def test_s3_check_unreachable_endpoint_is_quick() -> None:
    port = free_port()  # nothing listens here
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=2), retries=0)
    client = Minio(f"127.0.0.1:{port}", "test", "test", secure=False, region="us-east-1", http_client=http)
    store = S3Store(client, "artifacts")
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        store.check()
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message, message
    with pytest.raises(StorageError) as info:
        store.open("x")
    assert not isinstance(info.value, ObjectNotFound)


def test_make_store_local(tmp_path: Path) -> None:
    store = make_store(Settings(data_dir=str(tmp_path)))
    assert isinstance(store, LocalStore) and store.kind == "local"
    assert store.root == (tmp_path / "artifacts").resolve()
    store.check()


def test_make_store_s3(s3_endpoint: str) -> None:
    settings = Settings(
        minio_endpoint=s3_endpoint,
        minio_access_key="test",
        minio_secret_key="test",
        storage_bucket_artifacts=_bucket(),
    )
    store = make_store(settings)
    assert isinstance(store, S3Store) and store.kind == "s3"
    assert store.bucket == settings.storage_bucket_artifacts
    store.check()
    assert _client(s3_endpoint).bucket_exists(settings.storage_bucket_artifacts)
