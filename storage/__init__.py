"""Artifact storage: one small protocol with a local-disk and an S3 (MinIO) implementation."""
from __future__ import annotations

from typing import TYPE_CHECKING

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


def make_store(settings: "Settings") -> ArtifactStore:
    """S3Store when MINIO_ENDPOINT is set, else LocalStore under DATA_DIR/artifacts."""
    if settings.minio_endpoint:
        client = Minio(
            settings.minio_endpoint,
            access_key=settings.minio_access_key,
            secret_key=settings.minio_secret_key,
            secure=settings.minio_secure,
            region=settings.minio_region,
        )
        return S3Store(client, settings.storage_bucket_artifacts)
    return LocalStore(settings.artifacts_dir)
