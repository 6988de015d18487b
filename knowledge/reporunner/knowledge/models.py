"""Records the store returns and the search request it takes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DocumentChunk",
    "DocumentRecord",
    "DocumentStatus",
    "KnowledgeBase",
    "SearchHit",
    "SearchMode",
    "SearchRequest",
    "SearchResult",
]

DocumentStatus = Literal["queued", "parsing", "embedding", "ready", "failed"]
SearchMode = Literal["vector", "keyword", "hybrid"]


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """A row of ``knowledge_bases``: the embedding model and chunking are fixed at creation."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    description: str
    embedding_model: str
    embedding_dim: int
    chunk_size: int
    chunk_overlap: int
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """A row of ``documents`` (status and progress of its ingestion included)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    name: str
    source: str
    mime_type: str
    size_bytes: int
    content_hash: str
    storage_path: str | None
    status: str
    error: str | None
    chunks_total: int
    chunks_done: int
    metadata: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime


class SearchRequest(BaseModel):
    """A knowledge base search (the API body and the ``knowledge.search`` node's params)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=4000, description="What to look for.")
    top_k: int = Field(default=5, ge=1, le=100, description="How many chunks to return.")
    mode: SearchMode = Field(
        default="hybrid",
        description="vector (semantic), keyword (full text, BM25 scoring) or hybrid (both, "
        "fused by reciprocal rank).",
    )
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="Conditions on chunk metadata or document fields: {field: value} for "
        "equality, {field: {in: [...]}}, {field: {gte: x, lt: y}}. Document fields: "
        "document_id, document_name, mime_type, source, document_created_at, page, ordinal.",
    )
    rerank: bool = Field(
        default=False,
        description="Re-score the candidates with a cross-encoder when one is installed "
        "(skipped with a note otherwise).",
    )
    ef_search: int | None = Field(
        default=None,
        ge=10,
        le=1000,
        description="HNSW candidate list size (higher: better recall, slower); default: the "
        "base's settings.ef_search, else 200 (at least the number of vector candidates).",
    )


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One retrieved chunk with what a citation needs.

    ``ranks`` holds the chunk's 1-based rank in each mode that found it (``vector``,
    ``keyword``); ``score`` is the mode's own score (cosine similarity, BM25, or the RRF sum).
    """

    chunk_id: uuid.UUID
    document_id: uuid.UUID
    document_name: str
    text: str
    score: float
    ranks: Mapping[str, int]
    ordinal: int
    page: int | None
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int
    metadata: Mapping[str, Any]

    def as_item(self) -> dict[str, Any]:
        """JSON-safe dict (node outputs, API responses)."""
        return {
            "chunk_id": str(self.chunk_id),
            "document_id": str(self.document_id),
            "document_name": self.document_name,
            "text": self.text,
            "score": self.score,
            "ranks": dict(self.ranks),
            "ordinal": self.ordinal,
            "page": self.page,
            "heading_path": list(self.heading_path),
            "char_start": self.char_start,
            "char_end": self.char_end,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True, slots=True)
class DocumentChunk:
    """One chunk of a document as read back in order (the document view of a citation)."""

    id: uuid.UUID
    ordinal: int
    text: str
    page: int | None
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits, best first, and notes (e.g. why reranking was skipped)."""

    hits: tuple[SearchHit, ...]
    mode: SearchMode
    notes: tuple[str, ...] = ()
