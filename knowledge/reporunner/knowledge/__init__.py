"""reporunner.knowledge: parse, chunk, embed and index documents; search them with citations.

The platform calls this surface: :class:`KnowledgeStore` (bases, documents, search),
:func:`ingest_documents` / :func:`add_and_ingest` (the ingestion pipeline the arq job runs),
:func:`parse_document` (to answer 415/413 at upload time), :func:`embedder_for` (a base's
embedding model), :class:`StoreKnowledgeService` (the engine's ``knowledge`` service) and the
reads over a caller's connection (:func:`read_base`, :func:`read_bases`, :func:`read_document`,
:func:`read_documents`) that an API request runs in its own transaction.
"""

from reporunner.knowledge._bases import hnsw_index_name, read_base, read_bases, safe_document_name
from reporunner.knowledge._documents import read_document, read_documents
from reporunner.knowledge.chunking import (
    Chunk,
    ChunkingOptions,
    HFTokenCounter,
    TokenCounter,
    chunk_document,
    content_hash,
)
from reporunner.knowledge.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    Embedder,
    LiteLLMEmbedder,
    SentenceTransformerEmbedder,
    embedder_for,
)
from reporunner.knowledge.errors import (
    DocumentCorrupt,
    DocumentEmpty,
    DocumentEncrypted,
    DocumentError,
    DocumentTooLarge,
    EmbeddingError,
    KnowledgeError,
    UnsafeDocument,
    UnsupportedDocumentType,
)
from reporunner.knowledge.filters import DOCUMENT_FIELDS, compile_filters
from reporunner.knowledge.models import (
    DocumentChunk,
    DocumentRecord,
    DocumentStatus,
    KnowledgeBase,
    SearchHit,
    SearchMode,
    SearchRequest,
    SearchResult,
)
from reporunner.knowledge.parsing import (
    SUPPORTED_TYPES,
    ParsedDocument,
    ParseLimits,
    Section,
    parse_document,
    sniff,
    sniff_file,
)
from reporunner.knowledge.pipeline import (
    IngestProgress,
    IngestResult,
    ProgressCallback,
    add_and_ingest,
    chunking_options,
    content_hash_bytes,
    ingest_document,
    ingest_documents,
)
from reporunner.knowledge.rerank import CrossEncoderReranker
from reporunner.knowledge.service import KnowledgeService, StoreKnowledgeService
from reporunner.knowledge.store import KnowledgeStore, Reranker

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "DOCUMENT_FIELDS",
    "SUPPORTED_TYPES",
    "Chunk",
    "ChunkingOptions",
    "CrossEncoderReranker",
    "DocumentChunk",
    "DocumentCorrupt",
    "DocumentEmpty",
    "DocumentEncrypted",
    "DocumentError",
    "DocumentRecord",
    "DocumentStatus",
    "DocumentTooLarge",
    "Embedder",
    "EmbeddingError",
    "HFTokenCounter",
    "IngestProgress",
    "IngestResult",
    "KnowledgeBase",
    "KnowledgeError",
    "KnowledgeService",
    "KnowledgeStore",
    "LiteLLMEmbedder",
    "ParseLimits",
    "ParsedDocument",
    "ProgressCallback",
    "Reranker",
    "SearchHit",
    "SearchMode",
    "SearchRequest",
    "SearchResult",
    "Section",
    "SentenceTransformerEmbedder",
    "StoreKnowledgeService",
    "TokenCounter",
    "UnsafeDocument",
    "UnsupportedDocumentType",
    "add_and_ingest",
    "chunk_document",
    "chunking_options",
    "compile_filters",
    "content_hash",
    "content_hash_bytes",
    "embedder_for",
    "hnsw_index_name",
    "ingest_document",
    "ingest_documents",
    "parse_document",
    "read_base",
    "read_bases",
    "read_document",
    "read_documents",
    "safe_document_name",
    "sniff",
    "sniff_file",
]
