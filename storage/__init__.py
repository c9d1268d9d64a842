"""Artifact storage: one small protocol with a local-disk and an S3 (MinIO) implementation."""
from __future__ import annotations

from typing import TYPE_CHECKING

import urllib3
from minio import Minio

from storage.base import (
    ArtifactStore,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    StoredObject,
    validate_key,
)
from storage.local import LocalStore
from storage.s3 import S3Store

if TYPE_CHECKING:
    from config import Settings

__all__ = [
    "ArtifactStore",
    "InvalidKey",
    "LocalStore",
    "ObjectInfo",
    "ObjectNotFound",
    "S3Store",
    "StorageError",
    "StoredObject",
    "make_store",
    "validate_key",
]


def _http_client() -> urllib3.PoolManager:
    """Short connect timeout and few retries: an S3 outage must answer in seconds, not the client's minutes."""
    return urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=120), maxsize=32,
                               retries=urllib3.Retry(total=2, backoff_factor=0.2,
                                                     status_forcelist=(500, 502, 503, 504)))


def make_store(settings: "Settings") -> ArtifactStore:
    """S3Store when MINIO_ENDPOINT is set, else LocalStore under DATA_DIR/artifacts."""
    if settings.minio_endpoint:
        client = Minio(
            settings.minio_endpoint,
            access_key=settings.minio_access_key,
            secret_key=settings.minio_secret_key,
            secure=settings.minio_secure,
            region=settings.minio_region,
            http_client=_http_client(),
        )
        return S3Store(client, settings.storage_bucket_artifacts)
    return LocalStore(settings.artifacts_dir)
