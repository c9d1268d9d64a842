"""Artifact store on the local filesystem: one file per key under a root directory."""
from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO, Iterator

from storage.base import (
    PROBE_PREFIX,
    ChunkIterator,
    HashingReader,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    StoredObject,
    one_line,
    run_probe,
    validate_key,
    validate_prefix,
)

WRITE_CHUNK = 1024 * 1024
TMP_PREFIX = ".~tmp-"
TMP_SUFFIX = ".part"
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


def _is_temp(name: str) -> bool:
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


class LocalStore:
    """Files under root; writes go to a temp file in the target directory, then an atomic rename."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        if not path.resolve().is_relative_to(self.root):
            raise InvalidKey(f"key {key[:80]!r} resolves outside the store root")
        return path

    def put(self, key: str, stream: BinaryIO, content_type: str = "application/octet-stream") -> StoredObject:
        path = self._path(key)
        reader = HashingReader(stream)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=path.parent)
        except OSError as exc:
            raise StorageError(one_line(f"cannot write {key!r} under {self.root}: {exc}")) from exc
        try:
            self._write(fd, reader)
            os.replace(tmp, path)
        except BaseException as exc:
            with suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise StorageError(one_line(f"cannot write {key!r} under {self.root}: {exc}")) from exc
            raise
        return StoredObject(key=key, size=reader.size, sha256=reader.sha256, uri=path.as_uri())

    @staticmethod
    def _write(fd: int, reader: HashingReader) -> None:
        with os.fdopen(fd, "wb") as out:
            while chunk := reader.read(WRITE_CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())

    def open(self, key: str, chunk_size: int = 65536) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = open(path, "rb")
        except _MISSING:
            raise ObjectNotFound(f"no object {key!r} in local store") from None
        except OSError as exc:
            raise StorageError(one_line(f"cannot read {key!r}: {exc}")) from exc
        return ChunkIterator(handle.read, handle.close, chunk_size)

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            if path.is_file():
                return path.stat().st_size
        except OSError as exc:
            raise StorageError(one_line(f"cannot stat {key!r}: {exc}")) from exc
        raise ObjectNotFound(f"no object {key!r} in local store")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except _MISSING:
            return
        except OSError as exc:
            raise StorageError(one_line(f"cannot delete {key!r}: {exc}")) from exc
        self._prune(path.parent)

    def _prune(self, directory: Path) -> None:
        """Remove now-empty directories between a deleted file and the root."""
        while directory != self.root and directory.is_relative_to(self.root):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def list(self, prefix: str) -> list[ObjectInfo]:
        validate_prefix(prefix)
        base = self.root / prefix.rpartition("/")[0]
        if not base.resolve().is_relative_to(self.root):
            raise InvalidKey(f"prefix {prefix[:80]!r} resolves outside the store root")
        found = [info for info in self._walk(base) if info.key.startswith(prefix)]
        return sorted(found, key=lambda info: info.key)

    def _walk(self, base: Path) -> Iterator[ObjectInfo]:
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if _is_temp(name):
                    continue
                full = Path(dirpath) / name
                try:
                    size = full.stat().st_size
                except FileNotFoundError:  # deleted while listing
                    continue
                yield ObjectInfo(key=full.relative_to(self.root).as_posix(), size=size)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            run_probe(self, f"{PROBE_PREFIX}{uuid.uuid4().hex}")
        except StorageError as exc:
            raise StorageError(one_line(f"local store check failed: {exc}")) from exc
        except OSError as exc:
            raise StorageError(one_line(f"local store at {self.root} is not usable: {exc}")) from exc
