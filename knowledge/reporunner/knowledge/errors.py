"""Typed errors of the knowledge base, all under :class:`ReporunnerError`.

The API maps each to its HTTP status (415 for an unsupported type, 413 for an oversized file...);
the ingestion pipeline stores ``detail`` as the document's failure reason, so every message says
what is wrong with the file and what the user can do about it.
"""

from __future__ import annotations

from typing import Any

from reporunner.nodes.errors import ReporunnerError

__all__ = [
    "DocumentCorrupt",
    "DocumentEmpty",
    "DocumentEncrypted",
    "DocumentError",
    "DocumentTooLarge",
    "EmbeddingError",
    "KnowledgeError",
    "UnsafeDocument",
    "UnsupportedDocumentType",
]


class KnowledgeError(ReporunnerError):
    """Base of the knowledge base's errors."""

    code = "knowledge_error"
    status = 500


class DocumentError(KnowledgeError):
    """A document cannot be ingested as it is (the other files of an upload are unaffected)."""

    code = "document_error"
    status = 422


class UnsupportedDocumentType(DocumentError):
    """The content is none of the formats we parse; ``supported`` lists those we do."""

    code = "unsupported_document_type"
    status = 415

    def __init__(self, detail: str, supported: list[str], **extra: Any) -> None:
        super().__init__(detail, supported=supported, **extra)
        self.supported = supported


class DocumentTooLarge(DocumentError):
    """The file (or its page/record count) exceeds a configured limit; ``limit`` names it."""

    code = "document_too_large"
    status = 413


class DocumentCorrupt(DocumentError):
    """The file claims a format but cannot be read as it."""

    code = "document_corrupt"


class DocumentEncrypted(DocumentError):
    """The file is password protected."""

    code = "document_encrypted"


class DocumentEmpty(DocumentError):
    """The file holds no extractable text."""

    code = "document_empty"


class UnsafeDocument(DocumentError):
    """The file looks built to exhaust the parser (zip bomb, XML entities)."""

    code = "unsafe_document"


class EmbeddingError(KnowledgeError):
    """The embedding model failed or answered with vectors of the wrong shape."""

    code = "embedding_error"
    status = 502
