"""The ``memories`` table, defined once (a Core ``Table`` on the schema's one MetaData).

:class:`~reporunner.agents.memory.SqlMemoryStore` queries it, the platform maps its ORM class
onto it (``__table__``) and Alembic compares the migrations with it.
"""

from __future__ import annotations

from pgvector.sqlalchemy import Vector
from sqlalchemy import Column, Index, String, Table, Text, literal_column, text
from sqlalchemy.dialects.postgresql import JSONB

from reporunner.knowledge.tables import id_column, metadata, tenant_column, timestamp_column

__all__ = ["MEMORY_INDEX_DIM", "memories"]

MEMORY_INDEX_DIM = 384
"""Dimension of the memories' HNSW index (all-MiniLM-L6-v2, the default embedder)."""

memories = Table(
    "memories",
    metadata,
    id_column(),
    tenant_column(),
    timestamp_column(),
    Column("agent_id", String(200), nullable=False),
    Column("end_user_id", String(200), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("embedding", Vector(), nullable=True),
    Column("metadata", JSONB, nullable=False, default=dict),
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
