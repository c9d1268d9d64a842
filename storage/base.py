"""The artifact-store protocol, its errors, key validation and shared streaming helpers."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, Protocol, runtime_checkable

MAX_KEY_LENGTH = 1024
PROBE_PREFIX = ".probe/"


class StorageError(Exception):
    """A storage failure; the message is one line for an operator."""


class ObjectNotFound(StorageError):
    """The requested key does not exist."""


class InvalidKey(StorageError):
    """The key is unsafe or malformed."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str  # hex
    uri: str  # "s3://bucket/key" or "file:///abs/path"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


@runtime_checkable
class ArtifactStore(Protocol):
    kind: str  # "local" | "s3"

    def put(self, key: str, stream: BinaryIO, content_type: str = "application/octet-stream") -> StoredObject: ...

    def open(self, key: str, chunk_size: int = 65536) -> Iterator[bytes]: ...

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> list[ObjectInfo]: ...

    def uri(self, key: str) -> str: ...

    def check(self) -> None: ...


def validate_key(key: str) -> str:
    """Return key unchanged if it is a safe relative "a/b/c" key, else raise InvalidKey."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"key is longer than {MAX_KEY_LENGTH} characters")
    if "\x00" in key or "\\" in key:
        raise InvalidKey(f"key {key[:80]!r} contains a NUL or backslash")
    if key.startswith("/"):
        raise InvalidKey(f"key {key[:80]!r} is an absolute path")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKey(f"key {key[:80]!r} has an empty, '.' or '..' segment")
    return key


def validate_prefix(prefix: str) -> str:
    """A list prefix is "" or a key, optionally ending in "/"."""
    if prefix:
        validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def one_line(text: object, limit: int = 300) -> str:
    """Collapse an error text to one short line."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class HashingReader:
    """A read-only stream wrapper that counts and hashes the bytes read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = bytes(self._stream.read(size))
        self._hash.update(data)
        self.size += len(data)
        return data

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class ChunkIterator:
    """Iterates chunks from read(chunk_size) until EOF; close() runs once, also on early exit or GC."""

    def __init__(self, read: Callable[[int], bytes], close: Callable[[], None], chunk_size: int) -> None:
        if chunk_size <= 0:
            close()
            raise ValueError("chunk_size must be positive")
        self._read = read
        self._close: Callable[[], None] | None = close
        self._chunk_size = chunk_size

    def __iter__(self) -> "ChunkIterator":
        return self

    def __next__(self) -> bytes:
        if self._close is None:
            raise StopIteration
        try:
            chunk = self._read(self._chunk_size)
        except BaseException:
            self.close()
            raise
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            close()

    def __enter__(self) -> "ChunkIterator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def run_probe(store: ArtifactStore, key: str) -> None:
    """Write, read back and delete a small object; raise StorageError with a one-line reason."""
    payload = b"storage probe " + key.encode()
    stored = store.put(key, io.BytesIO(payload), "text/plain")
    try:
        data = b"".join(store.open(key))
        if data != payload or stored.size != len(payload):
            raise StorageError(f"{store.kind} store probe read back different bytes")
    finally:
        store.delete(key)
    if store.exists(key):
        raise StorageError(f"{store.kind} store probe object was not deleted")
