"""ORM classes of the knowledge bases, documents, chunks and agent memories.

The tables are defined once, as Core ``Table`` objects by the parts that own them
(:mod:`reporunner.knowledge.tables`, :mod:`reporunner.agents.memory.tables`); these classes map
onto them (``__table__``) so the platform queries them with the ORM. The annotations only type
the mapped attributes; the columns themselves come from the tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped, column_property

from reporunner.agents.memory.tables import MEMORY_INDEX_DIM, memories
from reporunner.knowledge.tables import chunks, documents, knowledge_bases, knowledge_terms
from reporunner.platform.db.base import Base

__all__ = ["MEMORY_INDEX_DIM", "Chunk", "Document", "KnowledgeBase", "KnowledgeTerm", "Memory"]


class KnowledgeBase(Base):
    __table__ = knowledge_bases

    id: Mapped[uuid.UUID]
    workspace_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    name: Mapped[str]
    description: Mapped[str]
    embedding_model: Mapped[str]
    embedding_dim: Mapped[int]
    chunk_size: Mapped[int]
    chunk_overlap: Mapped[int]
    settings: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class Document(Base):
    __table__ = documents

    id: Mapped[uuid.UUID]
    workspace_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    knowledge_base_id: Mapped[uuid.UUID]
    name: Mapped[str]
    source: Mapped[str]
    mime_type: Mapped[str]
    size_bytes: Mapped[int]
    content_hash: Mapped[str]
    storage_path: Mapped[str | None]
    status: Mapped[str]
    error: Mapped[str | None]
    chunks_total: Mapped[int]
    chunks_done: Mapped[int]
    metadata_: Mapped[dict[str, Any]] = column_property(documents.c.metadata)
    updated_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime | None]
    ingest_attempts: Mapped[int]
    ingested_hash: Mapped[str | None]
    queue: Mapped[str | None]


class Chunk(Base):
    __table__ = chunks

    id: Mapped[uuid.UUID]
    workspace_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    knowledge_base_id: Mapped[uuid.UUID]
    document_id: Mapped[uuid.UUID]
    ordinal: Mapped[int]
    text: Mapped[str]
    content_hash: Mapped[str]
    token_count: Mapped[int]
    page: Mapped[int | None]
    heading_path: Mapped[list[Any]]
    char_start: Mapped[int]
    char_end: Mapped[int]
    metadata_: Mapped[dict[str, Any]] = column_property(chunks.c.metadata)
    embedding: Mapped[Any]
    tsv: Mapped[Any]


class KnowledgeTerm(Base):
    """How many chunks of a base hold each term (BM25 document frequency)."""

    __table__ = knowledge_terms

    knowledge_base_id: Mapped[uuid.UUID]
    term: Mapped[str]
    workspace_id: Mapped[uuid.UUID]
    df: Mapped[int]


class Memory(Base):
    __table__ = memories

    id: Mapped[uuid.UUID]
    workspace_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    agent_id: Mapped[str]
    end_user_id: Mapped[str]
    text: Mapped[str]
    embedding: Mapped[Any]
    metadata_: Mapped[dict[str, Any]] = column_property(memories.c.metadata)
