"""Knowledge bases, documents, chunks (pgvector + tsvector) and agent memories.

``chunks.embedding`` has no fixed dimension: each knowledge base fixes its own, and search uses a
partial HNSW index per base on ``embedding::vector(dim)`` (created by the knowledge store).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    literal_column,
    text,
)
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TenantMixin, TimestampMixin, UUIDPrimaryKey


class KnowledgeBase(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "knowledge_bases"
    __table_args__ = (Unique("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    embedding_model: Mapped[str] = mapped_column(String(200))
    embedding_dim: Mapped[int] = mapped_column(Integer)
    chunk_size: Mapped[int] = mapped_column(Integer, default=512)
    chunk_overlap: Mapped[int] = mapped_column(Integer, default=64)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Document(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        Unique("knowledge_base_id", "name"),
        # the unsettled documents the worker's document reaper scans (migration 0004)
        Index(
            "ix_documents_in_progress",
            "status",
            postgresql_where=text("status IN ('queued', 'parsing', 'embedding')"),
        ),
    )

    knowledge_base_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("knowledge_bases.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | url | text
    mime_type: Mapped[str] = mapped_column(String(200), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    storage_path: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    # refreshed while a job ingests the document; the document reaper re-queues it when stale
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # re-queues by the document reaper since the last finished ingestion
    ingest_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # content hash of the last finished (or given up) ingestion: a late duplicate job skips
    ingested_hash: Mapped[str | None] = mapped_column(String(64))


class Chunk(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "chunks"
    __table_args__ = (
        Index("ix_chunks_document_ordinal", "document_id", "ordinal"),
        Index("ix_chunks_kb_hash", "knowledge_base_id", "content_hash"),
        Index("ix_chunks_tsv", "tsv", postgresql_using="gin"),
    )

    knowledge_base_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("knowledge_bases.id", ondelete="CASCADE")
    )
    document_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("documents.id", ondelete="CASCADE")
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    token_count: Mapped[int] = mapped_column(Integer, default=0)
    page: Mapped[int | None] = mapped_column(Integer)
    heading_path: Mapped[list[Any]] = mapped_column(default=list)
    char_start: Mapped[int] = mapped_column(Integer, default=0)
    char_end: Mapped[int] = mapped_column(Integer, default=0)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    embedding: Mapped[Any] = mapped_column(Vector(), nullable=True)
    tsv: Mapped[Any] = mapped_column(TSVECTOR, nullable=True)


class KnowledgeTerm(Base):
    """How many chunks of a base hold each term (BM25 document frequency), kept in step with
    ``chunks`` by the knowledge store (migration ``0002_knowledge_terms``)."""

    __tablename__ = "knowledge_terms"

    knowledge_base_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("knowledge_bases.id", ondelete="CASCADE"),
        primary_key=True,
    )
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    df: Mapped[int] = mapped_column(Integer)


MEMORY_INDEX_DIM = 384
"""Dimension of the memories' HNSW index (all-MiniLM-L6-v2, the default embedder)."""


class Memory(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "memories"
    __table_args__ = (
        Index("ix_memories_scope", "workspace_id", "agent_id", "end_user_id"),
        # Recall within a large scope: cosine HNSW on the default model's dimension (other
        # dimensions are searched exactly; a scope is usually small enough for that anyway).
        Index(
            "ix_memories_hnsw_384",
            literal_column(f"(embedding::vector({MEMORY_INDEX_DIM}))").label("embedding_384"),
            postgresql_using="hnsw",
            postgresql_ops={"embedding_384": "vector_cosine_ops"},
            postgresql_where=text(f"vector_dims(embedding) = {MEMORY_INDEX_DIM}"),
        ),
    )

    agent_id: Mapped[str] = mapped_column(String(200))
    end_user_id: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[Any] = mapped_column(Vector(), nullable=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
