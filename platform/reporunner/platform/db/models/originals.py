"""Uploaded originals kept in PostgreSQL: one row per blob, its bytes in fixed-size chunks.

The default store of :mod:`reporunner.platform.originals`. A blob belongs to one knowledge base
(deleting the base, or the workspace, deletes its blobs with it) and is named by the
document's ``storage_path``; its chunks are written one by one as the upload streams in and
read back one by one, so neither side ever holds the whole file.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TenantMixin, TimestampMixin, UUIDPrimaryKey

__all__ = ["OriginalBlob", "OriginalChunk"]


class OriginalBlob(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    """One stored original: its path (``documents.storage_path``), size and sha256."""

    __tablename__ = "original_blobs"
    __table_args__ = (UniqueConstraint("workspace_id", "path"),)

    knowledge_base_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


class OriginalChunk(TenantMixin, Base):
    """``seq``-th piece (at most ``CHUNK_BYTES``) of a blob's bytes."""

    __tablename__ = "original_chunks"

    blob_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("original_blobs.id", ondelete="CASCADE"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
