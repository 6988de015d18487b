"""Uploaded originals in storage that every API process and worker shares.

One interface (:class:`OriginalStore`), two back ends: PostgreSQL (the default, nothing else
to run) and an S3-compatible object store (``REPORUNNER_ORIGINALS_STORE=s3``). Both stream:
an original goes in and comes out a piece at a time, never whole in memory. Originals kept on
a data directory by earlier versions move in with ``reporunner migrate``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.originals._base import (
    CHUNK_BYTES,
    OriginalMissing,
    OriginalStore,
    StoredOriginal,
    check_path,
    fs_safe_name,
    original_path,
    read_all,
    rechunk,
)
from reporunner.platform.originals._local import (
    MoveReport,
    file_chunks,
    local_root,
    move_local_originals,
)
from reporunner.platform.originals._postgres import PostgresOriginals
from reporunner.platform.originals._s3 import S3Originals
from reporunner.platform.settings import Settings

__all__ = [
    "CHUNK_BYTES",
    "MoveReport",
    "OriginalMissing",
    "OriginalStore",
    "PostgresOriginals",
    "S3Originals",
    "StoredOriginal",
    "check_path",
    "file_chunks",
    "fs_safe_name",
    "local_root",
    "move_local_originals",
    "open_original_store",
    "original_path",
    "read_all",
    "rechunk",
]


def open_original_store(settings: Settings, engine: AsyncEngine) -> OriginalStore:
    """The store ``settings`` name (the PostgreSQL one shares ``engine``).

    Raises:
        ConfigurationError: s3 without a bucket, or without boto3 installed.
    """
    if settings.originals_store == "postgres":
        return PostgresOriginals(engine)
    if not settings.s3_bucket:
        raise ConfigurationError(
            "REPORUNNER_S3_BUCKET: required when REPORUNNER_ORIGINALS_STORE is s3"
        )
    try:
        import boto3  # noqa: F401
    except ImportError as err:
        raise ConfigurationError(
            "REPORUNNER_ORIGINALS_STORE: s3 needs boto3; install reporunner[s3]"
        ) from err
    secret = settings.s3_secret_access_key
    return S3Originals.connect(
        settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )
