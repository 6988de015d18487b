"""The knowledge tables, defined once: SQLAlchemy Core ``Table`` objects on the schema's one
``MetaData``.

The knowledge store's SQL selects the columns named here (its record types' fields are checked
against these tables when the store is imported), the platform maps its ORM classes onto the same
``Table`` objects (``__table__``), and Alembic compares the migrations with this ``metadata``.
``metadata`` is the MetaData of the whole schema: the agents part (``memories``) and the
platform's own models register their tables on it too. It lives here, in the lowest part that
owns a table, because arrows point one way (platform → agents → knowledge → nodes).

``chunks.embedding`` has no fixed dimension: each knowledge base fixes its own, and search uses a
partial HNSW index per base on ``embedding::vector(dim)`` (created and dropped with the base by
the store, so it is not part of this metadata).
"""

from __future__ import annotations

from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

__all__ = [
    "NAMING_CONVENTION",
    "chunks",
    "documents",
    "id_column",
    "knowledge_bases",
    "knowledge_terms",
    "metadata",
    "tenant_column",
    "timestamp_column",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""The one MetaData of the schema (every part's tables; Alembic's ``target_metadata``)."""


def id_column() -> Column[Any]:
    """``id uuid primary key default gen_random_uuid()``."""
    return Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


def tenant_column() -> Column[Any]:
    """``workspace_id``: every row a tenant owns carries it; every query filters by it."""
    return Column("workspace_id", UUID(as_uuid=True), index=True, nullable=False)


def timestamp_column(name: str = "created_at") -> Column[Any]:
    """A ``timestamptz not null default now()`` column."""
    return Column(name, DateTime(timezone=True), server_default=func.now(), nullable=False)


def _parent(name: str, target: str) -> Column[Any]:
    return Column(name, UUID(as_uuid=True), ForeignKey(target, ondelete="CASCADE"), nullable=False)


knowledge_bases = Table(
    "knowledge_bases",
    metadata,
    id_column(),
    tenant_column(),
    timestamp_column(),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("embedding_model", String(200), nullable=False),
    Column("embedding_dim", Integer, nullable=False),
    Column("chunk_size", Integer, nullable=False, default=512),
    Column("chunk_overlap", Integer, nullable=False, default=64),
    Column("settings", JSONB, nullable=False, default=dict),
    Column("updated_at", DateTime(timezone=True), server_default=text("now()"), nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

documents = Table(
    "documents",
    metadata,
    id_column(),
    tenant_column(),
    timestamp_column(),
    _parent("knowledge_base_id", "knowledge_bases.id"),
    Column("name", String(300), nullable=False),
    Column("source", String(16), nullable=False, default="upload"),  # upload | url | text
    Column("mime_type", String(200), nullable=False, default=""),
    Column("size_bytes", BigInteger, nullable=False, default=0),
    Column("content_hash", String(64), nullable=False, default=""),
    Column("storage_path", Text, nullable=True),
    Column("status", String(16), nullable=False, default="queued"),
    Column("error", Text, nullable=True),
    Column("chunks_total", Integer, nullable=False, default=0),
    Column("chunks_done", Integer, nullable=False, default=0),
    Column("metadata", JSONB, nullable=False, default=dict),
    Column("updated_at", DateTime(timezone=True), server_default=text("now()"), nullable=False),
    # refreshed while a job ingests the document; the document reaper re-queues it when stale
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    # re-queues by the document reaper since the last finished ingestion
    Column("ingest_attempts", Integer, nullable=False, server_default=text("0")),
    # content hash of the last finished (or given up) ingestion: a late duplicate job skips
    Column("ingested_hash", String(64), nullable=True),
    # the worker queue whose worker last claimed it: only that queue's reapers re-queue it
    Column("queue", String(200), nullable=True),
    UniqueConstraint("knowledge_base_id", "name"),
    # the unsettled documents the worker's document reaper scans (migration 0004)
    Index(
        "ix_documents_in_progress",
        "status",
        postgresql_where=text("status IN ('queued', 'parsing', 'embedding')"),
    ),
)

chunks = Table(
    "chunks",
    metadata,
    id_column(),
    tenant_column(),
    timestamp_column(),
    _parent("knowledge_base_id", "knowledge_bases.id"),
    _parent("document_id", "documents.id"),
    Column("ordinal", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("token_count", Integer, nullable=False, default=0),
    Column("page", Integer, nullable=True),
    Column("heading_path", JSONB, nullable=False, default=list),
    Column("char_start", Integer, nullable=False, default=0),
    Column("char_end", Integer, nullable=False, default=0),
    Column("metadata", JSONB, nullable=False, default=dict),
    Column("embedding", Vector(), nullable=True),
    Column("tsv", TSVECTOR, nullable=True),
    Index("ix_chunks_document_ordinal", "document_id", "ordinal"),
    Index("ix_chunks_kb_hash", "knowledge_base_id", "content_hash"),
    Index("ix_chunks_tsv", "tsv", postgresql_using="gin"),
)

knowledge_terms = Table(
    "knowledge_terms",
    metadata,
    # how many chunks of a base hold each term (BM25 document frequency), kept in step with
    # ``chunks`` by the knowledge store (migration 0002_knowledge_terms)
    Column(
        "knowledge_base_id",
        UUID(as_uuid=True),
        ForeignKey("knowledge_bases.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("term", Text, primary_key=True),
    Column("workspace_id", UUID(as_uuid=True), nullable=False),
    Column("df", Integer, nullable=False),
)
