"""Artifact store on an S3-compatible bucket (MinIO, AWS S3, moto) through the minio client."""
from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from typing import Any, BinaryIO, Iterator

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError

from storage.base import (
    PROBE_PREFIX,
    ChunkIterator,
    HashingReader,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    StoredObject,
    one_line,
    run_probe,
    validate_key,
    validate_prefix,
)

PART_SIZE = 10 * 1024 * 1024
NOT_FOUND_CODES = {"NoSuchKey", "NoSuchBucket"}
BUCKET_TAKEN_CODES = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def _network_reason(exc: urllib3.exceptions.HTTPError) -> str:
    """'host:port: reason' for a urllib3 failure, without object reprs."""
    where = ""
    pool = getattr(exc, "pool", None)
    if pool is not None:
        where = f" at {pool.host}:{pool.port}"
    reason: Any = getattr(exc, "reason", None) or exc
    args = getattr(reason, "args", ())
    text = args[-1] if len(args) >= 2 and isinstance(args[-1], str) else str(reason)
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]
    return f"cannot reach S3{where}: {text}"


class _ResponseReader:
    """Reads a get_object response and detects a body shorter than its Content-Length."""

    def __init__(self, response: Any, describe: str) -> None:
        self._response = response
        self._describe = describe
        length = response.headers.get("Content-Length")
        self._expected = int(length) if length and length.isdigit() else None
        self._received = 0

    def read(self, amount: int) -> bytes:
        chunk = self._response.read(amount)
        self._received += len(chunk)
        if not chunk and self._expected is not None and self._received != self._expected:
            raise StorageError(
                f"download of {self._describe} was cut short ({self._received} of {self._expected} bytes)"
            )
        return chunk

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            self._response.release_conn()


class S3Store:
    """Objects in one bucket; the bucket is created on the first write if it is missing."""

    kind = "s3"

    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self._bucket_ready = False
        self._lock = threading.Lock()

    def _where(self, key: str | None) -> str:
        return f"s3://{self.bucket}/{key}" if key else f"bucket {self.bucket!r}"

    @contextmanager
    def _errors(self, action: str, key: str | None = None) -> Iterator[None]:
        """Translate minio and urllib3 failures into StorageError / ObjectNotFound."""
        try:
            yield
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                self._bucket_ready = False
            if exc.code in NOT_FOUND_CODES:
                raise ObjectNotFound(f"no object {self._where(key)} ({exc.code})") from None
            raise StorageError(one_line(f"S3 {action} of {self._where(key)} failed: {exc.code}: {exc.message}")) from exc
        except (InvalidResponseError, ServerError) as exc:
            raise StorageError(one_line(f"S3 {action} of {self._where(key)} failed: {exc}")) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise StorageError(one_line(f"S3 {action} of {self._where(key)} failed: {_network_reason(exc)}")) from exc

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._lock, self._errors("bucket setup"):
            if self._bucket_ready:
                return
            if not self.client.bucket_exists(self.bucket):
                self._make_bucket()
            self._bucket_ready = True

    def _make_bucket(self) -> None:
        try:
            self.client.make_bucket(self.bucket)
        except S3Error as exc:  # another process may have created it meanwhile
            if exc.code not in BUCKET_TAKEN_CODES or not self.client.bucket_exists(self.bucket):
                raise

    def put(self, key: str, stream: BinaryIO, content_type: str = "application/octet-stream") -> StoredObject:
        validate_key(key)
        self._ensure_bucket()
        reader = HashingReader(stream)
        with self._errors("upload", key):
            self.client.put_object(
                self.bucket, key, reader, length=-1, part_size=PART_SIZE, content_type=content_type
            )
        return StoredObject(key=key, size=reader.size, sha256=reader.sha256, uri=self.uri(key))

    def open(self, key: str, chunk_size: int = 65536) -> Iterator[bytes]:
        validate_key(key)
        with self._errors("download", key):
            response = self.client.get_object(self.bucket, key)
        reader = _ResponseReader(response, self._where(key))

        def read(amount: int) -> bytes:
            with self._errors("download", key):
                return reader.read(amount)

        return ChunkIterator(read, reader.close, chunk_size)

    def size(self, key: str) -> int:
        validate_key(key)
        with self._errors("stat", key):
            return int(self.client.stat_object(self.bucket, key).size or 0)

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            with self._errors("delete", key):
                self.client.remove_object(self.bucket, key)
        except ObjectNotFound:
            pass

    def list(self, prefix: str) -> list[ObjectInfo]:
        validate_prefix(prefix)
        try:
            with self._errors("list", prefix or None):
                found = [
                    ObjectInfo(key=obj.object_name, size=int(obj.size or 0))
                    for obj in self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
                    if not obj.is_dir
                ]
        except ObjectNotFound:  # no bucket yet: nothing stored
            return []
        return sorted(found, key=lambda info: info.key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{validate_key(key)}"

    def check(self) -> None:
        try:
            self._ensure_bucket()
            run_probe(self, f"{PROBE_PREFIX}{uuid.uuid4().hex}")
        except StorageError as exc:
            raise StorageError(one_line(f"S3 store check failed: {exc}")) from exc
