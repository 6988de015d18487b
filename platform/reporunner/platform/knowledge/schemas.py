"""Request and response models of the knowledge API (the boundary: pydantic, extra="forbid")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reporunner.knowledge import (
    DocumentChunk,
    DocumentRecord,
    KnowledgeBase,
    SearchHit,
    SearchMode,
    SearchResult,
)

__all__ = [
    "ChunkOut",
    "ChunksOut",
    "CitationOut",
    "DocumentOut",
    "DocumentSourceIn",
    "KnowledgeBaseCreate",
    "KnowledgeBaseOut",
    "KnowledgeBaseUpdate",
    "ReembedIn",
    "SearchOut",
    "UploadAccepted",
    "UploadedDocument",
]

_FORBID = ConfigDict(extra="forbid")


class KnowledgeBaseCreate(BaseModel):
    """A new knowledge base; its embedding model and chunking are fixed from then on."""

    model_config = _FORBID

    name: str = Field(min_length=1, max_length=200, description="Unique name in the workspace.")
    description: str = Field(default="", max_length=4000, description="What the base holds.")
    embedding_model: str | None = Field(
        default=None,
        max_length=200,
        description="Embedding model: all-MiniLM-L6-v2 (local, the default from "
        "REPORUNNER_EMBEDDING_MODEL) or any litellm embedding model name.",
    )
    embedding_dim: int | None = Field(
        default=None,
        ge=1,
        le=16000,
        description="Vector dimension; required for litellm models, implied for the local one.",
    )
    chunk_size: int = Field(
        default=512, ge=32, le=8192, description="Target chunk size in model tokens."
    )
    chunk_overlap: int = Field(
        default=64, ge=0, le=1024, description="Tokens shared by consecutive chunks."
    )


class KnowledgeBaseUpdate(BaseModel):
    """Rename or re-describe a base (the model changes only through a re-embed)."""

    model_config = _FORBID

    name: str | None = Field(default=None, min_length=1, max_length=200, description="New name.")
    description: str | None = Field(default=None, max_length=4000, description="New text.")


class ReembedIn(BaseModel):
    """Move a base to another embedding model (every document is embedded again)."""

    model_config = _FORBID

    embedding_model: str = Field(min_length=1, max_length=200, description="The new model.")
    embedding_dim: int | None = Field(
        default=None, ge=1, le=16000, description="Its dimension (litellm models only)."
    )


class KnowledgeBaseOut(BaseModel):
    """A knowledge base."""

    model_config = _FORBID

    id: uuid.UUID = Field(description="Knowledge base id.")
    name: str = Field(description="Name, unique in the workspace.")
    description: str = Field(description="What the base holds.")
    embedding_model: str = Field(description="Embedding model of every chunk.")
    embedding_dim: int = Field(description="Vector dimension.")
    chunk_size: int = Field(description="Target chunk size in model tokens.")
    chunk_overlap: int = Field(description="Tokens shared by consecutive chunks.")
    reembedding: bool = Field(description="True while a re-embed job moves it to a new model.")

    @classmethod
    def of(cls, base: KnowledgeBase) -> KnowledgeBaseOut:
        return cls(
            id=base.id,
            name=base.name,
            description=base.description,
            embedding_model=base.embedding_model,
            embedding_dim=base.embedding_dim,
            chunk_size=base.chunk_size,
            chunk_overlap=base.chunk_overlap,
            reembedding=bool(base.settings.get("reembedding")),
        )


class DocumentOut(BaseModel):
    """A document and the state of its ingestion."""

    model_config = _FORBID

    id: uuid.UUID = Field(description="Document id.")
    knowledge_base_id: uuid.UUID = Field(description="Its knowledge base.")
    name: str = Field(description="Safe file name (no directories), unique in the base.")
    source: str = Field(description="upload, url or text.")
    mime_type: str = Field(description="Type sniffed from the content.")
    size_bytes: int = Field(description="Size of the original.")
    content_hash: str = Field(description="sha256 of the original.")
    status: str = Field(description="queued, parsing, embedding, ready or failed.")
    error: str | None = Field(description="Why ingestion failed (status failed).")
    chunks_total: int = Field(description="Chunks of the document (known from 'embedding' on).")
    chunks_done: int = Field(description="Chunks embedded so far.")
    metadata: dict[str, Any] = Field(description="Metadata given at upload (copied to chunks).")
    created_at: datetime = Field(description="First upload.")
    updated_at: datetime = Field(description="Last change of content or status.")

    @classmethod
    def of(cls, doc: DocumentRecord) -> DocumentOut:
        return cls(
            id=doc.id,
            knowledge_base_id=doc.knowledge_base_id,
            name=doc.name,
            source=doc.source,
            mime_type=doc.mime_type,
            size_bytes=doc.size_bytes,
            content_hash=doc.content_hash,
            status=doc.status,
            error=doc.error,
            chunks_total=doc.chunks_total,
            chunks_done=doc.chunks_done,
            metadata=dict(doc.metadata),
            created_at=doc.created_at,
            updated_at=doc.updated_at,
        )


class ChunkOut(BaseModel):
    """One chunk of a document, in reading order: what a citation points at."""

    id: uuid.UUID = Field(description="Chunk id (a citation's chunk_id).")
    ordinal: int = Field(description="Position in the document (0 first).")
    text: str = Field(description="The chunk's extracted text (plain text).")
    page: int | None = Field(description="Page it is on (paged formats such as PDF).")
    heading_path: list[str] = Field(description="Headings it sits under, outermost first.")
    char_start: int = Field(description="Offset of its first character in the extracted text.")
    char_end: int = Field(description="Offset just past its last character.")

    @classmethod
    def of(cls, chunk: DocumentChunk) -> ChunkOut:
        return cls(
            id=chunk.id,
            ordinal=chunk.ordinal,
            text=chunk.text,
            page=chunk.page,
            heading_path=list(chunk.heading_path),
            char_start=chunk.char_start,
            char_end=chunk.char_end,
        )


class ChunksOut(BaseModel):
    """A page of a document's chunks in reading order."""

    document: DocumentOut = Field(description="The document.")
    chunks: list[ChunkOut] = Field(description="Chunks from ``offset``, in reading order.")
    total: int = Field(description="How many chunks the document has in all.")
    next_offset: int | None = Field(description="Offset of the next page (null: the last page).")


class DocumentSourceIn(BaseModel):
    """A document given as a URL to fetch or as raw text (JSON body of the upload route)."""

    model_config = _FORBID

    url: str | None = Field(
        default=None, max_length=4000, description="http(s) URL fetched by the server."
    )
    text: str | None = Field(default=None, description="The document's text itself.")
    name: str | None = Field(
        default=None,
        max_length=1000,
        description="Document name (made safe); default: from the URL, or text-<hash>.txt.",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Stored on every chunk; usable in search filters."
    )


class UploadedDocument(BaseModel):
    """One document of an accepted upload."""

    model_config = _FORBID

    id: uuid.UUID = Field(description="Document id (poll GET .../documents/{id}).")
    name: str = Field(description="The safe name it was stored under.")
    status: str = Field(description="queued, or its current status when unchanged.")
    unchanged: bool = Field(description="True when the same content was already there (no-op).")


class UploadAccepted(BaseModel):
    """Answer of an upload: the documents, queued for ingestion."""

    model_config = _FORBID

    documents: list[UploadedDocument] = Field(description="One entry per file, in order.")


class CitationOut(BaseModel):
    """A retrieved chunk and where it comes from."""

    model_config = _FORBID

    chunk_id: uuid.UUID = Field(description="Chunk id.")
    document_id: uuid.UUID = Field(description="Its document.")
    document_name: str = Field(description="Its document's name.")
    text: str = Field(description="Chunk text.")
    score: float = Field(description="Score of the mode (cosine, BM25 or fused RRF).")
    ranks: dict[str, int] = Field(description="1-based rank per mode that found it.")
    ordinal: int = Field(description="Position of the chunk in its document.")
    page: int | None = Field(description="Page (PDF) the chunk is on.")
    heading_path: list[str] = Field(description="Headings above the chunk, outermost first.")
    char_start: int = Field(description="Offset of the chunk in the parsed document text.")
    char_end: int = Field(description="End offset (exclusive).")
    metadata: dict[str, Any] = Field(description="Chunk and document metadata.")

    @classmethod
    def of(cls, hit: SearchHit) -> CitationOut:
        return cls(**hit.as_item())


class SearchOut(BaseModel):
    """Search results, best first."""

    model_config = _FORBID

    mode: SearchMode = Field(description="The mode that ran.")
    hits: list[CitationOut] = Field(description="Chunks with their citations, best first.")
    notes: list[str] = Field(description="Remarks (e.g. why reranking was skipped).")

    @classmethod
    def of(cls, result: SearchResult) -> SearchOut:
        return cls(
            mode=result.mode,
            hits=[CitationOut.of(h) for h in result.hits],
            notes=list(result.notes),
        )
