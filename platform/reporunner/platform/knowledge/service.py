"""Knowledge bases, documents and search for one workspace (what the routes call).

Every function takes the caller's ``workspace_id`` and passes it down to the knowledge store,
whose every statement filters by it: an id of another workspace is a 404, never its data.
Ingestion itself runs in the worker (``ingest_document`` job); uploads only check the content
(415/413 answered at once), store the original and queue the job.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.knowledge import (
    SUPPORTED_TYPES,
    CrossEncoderReranker,
    DocumentChunk,
    DocumentError,
    DocumentRecord,
    Embedder,
    EmbeddingError,
    KnowledgeBase,
    KnowledgeStore,
    ParseLimits,
    SearchRequest,
    SearchResult,
    embedder_for,
    read_base,
    read_bases,
    read_document,
    read_documents,
    sniff_file,
)
from reporunner.knowledge._bases import safe_document_name
from reporunner.nodes.errors import (
    ConflictError,
    NotFoundError,
    Problem,
    ReporunnerError,
    ValidationFailed,
)
from reporunner.platform.db.models import Document
from reporunner.platform.db.models import KnowledgeBase as KnowledgeBaseRow
from reporunner.platform.db.session import transaction
from reporunner.platform.knowledge.events import publish_event
from reporunner.platform.knowledge.schemas import (
    KnowledgeBaseCreate,
    KnowledgeBaseUpdate,
    UploadedDocument,
)
from reporunner.platform.knowledge.uploads import IncomingFile
from reporunner.platform.originals import (
    OriginalMissing,
    OriginalStore,
    StoredOriginal,
    local_root,
    original_path,
    read_all,
)
from reporunner.platform.resources import Resources
from reporunner.platform.settings import Settings

__all__ = [
    "IngestQueueUnavailable",
    "create_base",
    "delete_base",
    "delete_document",
    "document_chunks",
    "documents_now",
    "enqueue_ingest",
    "get_base",
    "get_document",
    "list_bases",
    "list_documents",
    "missing_original",
    "originals",
    "parse_limits",
    "read_original",
    "release_original",
    "resolve_embedder",
    "retry_document",
    "search",
    "store_document",
    "store_of",
    "stream_original",
    "update_base",
    "upload_documents",
]

log = logging.getLogger(__name__)


def store_of(resources: Resources) -> KnowledgeStore:
    """The knowledge store on the shared engine, with the configured cross-encoder if any."""
    model = resources.settings.rerank_model
    return KnowledgeStore(resources.engine, CrossEncoderReranker(model) if model else None)


def originals(resources: Resources) -> OriginalStore:
    """Where originals live (the configured store, shared by every process)."""
    return resources.originals


def resolve_embedder(model: str, dim: int | None) -> Embedder:
    """The embedder of a (new) base, or a 422 saying what is wrong with the model/dimension."""
    try:
        return embedder_for(model, dim)
    except EmbeddingError as err:
        raise ValidationFailed(
            f"embedding model: {err.detail}",
            problems=[Problem("/embedding_dim", "unsupported_embedding", err.detail)],
        ) from err


# -- knowledge bases -----------------------------------------------------------------------


async def create_base(
    resources: Resources, workspace_id: uuid.UUID, body: KnowledgeBaseCreate
) -> KnowledgeBase:
    """Create a base with its embedding model fixed (default: the settings' model).

    Raises:
        ConflictError: the name is taken in this workspace.
        ValidationFailed: an unknown model dimension or a chunk overlap not below the size.
    """
    if body.chunk_overlap >= body.chunk_size:
        raise ValidationFailed(
            "chunk_overlap must be smaller than chunk_size",
            problems=[Problem("/chunk_overlap", "overlap_too_large", "must be below chunk_size")],
        )
    embedder = resolve_embedder(
        body.embedding_model or resources.settings.embedding_model, body.embedding_dim
    )
    return await store_of(resources).create_base(
        workspace_id,
        body.name,
        embedding_model=embedder.model_name,
        embedding_dim=embedder.dim,
        description=body.description,
        chunk_size=body.chunk_size,
        chunk_overlap=body.chunk_overlap,
    )


async def list_bases(session: AsyncSession, workspace_id: uuid.UUID) -> list[KnowledgeBase]:
    return await read_bases(await session.connection(), workspace_id)


async def get_base(
    session: AsyncSession, workspace_id: uuid.UUID, base_id: uuid.UUID
) -> KnowledgeBase:
    """Raises: NotFoundError: no such base in this workspace."""
    return await read_base(await session.connection(), workspace_id, base_id)


async def update_base(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID, body: KnowledgeBaseUpdate
) -> KnowledgeBase:
    """Rename or re-describe a base (a taken name is a 409).

    Raises:
        NotFoundError: no such base in this workspace.
    """
    async with transaction(resources.sessions) as session:
        row = await session.scalar(
            select(KnowledgeBaseRow)
            .where(KnowledgeBaseRow.workspace_id == workspace_id, KnowledgeBaseRow.id == base_id)
            .with_for_update()
        )
        if row is None:
            raise NotFoundError(f"knowledge base '{base_id}' does not exist in this workspace")
        if body.name is not None and body.name != row.name:
            taken = await session.scalar(
                select(KnowledgeBaseRow.id).where(
                    KnowledgeBaseRow.workspace_id == workspace_id,
                    KnowledgeBaseRow.name == body.name,
                )
            )
            if taken is not None:
                raise ConflictError(f"knowledge base '{body.name}' already exists; pick another")
            row.name = body.name
        if body.description is not None:
            row.description = body.description
    return await store_of(resources).get_base(workspace_id, base_id)


async def delete_base(resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID) -> None:
    """Delete a base with its documents, chunks, index and stored originals."""
    await store_of(resources).delete_base(workspace_id, base_id)
    await originals(resources).delete_base(workspace_id, base_id)


# -- documents -----------------------------------------------------------------------------


def parse_limits(settings: Settings) -> ParseLimits:
    """The parser and ingestion limits the settings ask for."""
    return ParseLimits(
        max_bytes=settings.max_upload_bytes,
        max_chars=settings.max_document_chars,
        max_chunks=settings.max_document_chunks,
        max_base_chunks=settings.max_base_chunks,
    )


def _named(err: DocumentError, name: str) -> DocumentError:
    """The same error, its message prefixed with the file it is about."""
    return type(err)(f"'{name}': {err.detail}", **err.extra)


def _sniff(incoming: IncomingFile, limits: ParseLimits) -> str:
    return sniff_file(incoming.rewound(), limits)


async def store_document(
    store: KnowledgeStore,
    originals: OriginalStore,
    base: KnowledgeBase,
    incoming: IncomingFile,
    kind: str,
) -> tuple[DocumentRecord, bool]:
    """Save the original and register (or update) the document; True when it changed.

    The original is hashed, then streamed into the store a piece at a time (never whole in
    memory); a document row that cannot be written takes its new original with it.

    Args:
        store: The knowledge store.
        originals: Where originals are kept.
        base: The document's knowledge base.
        incoming: Name, bytes, source and metadata.
        kind: Its sniffed kind (a key of ``SUPPORTED_TYPES``).
    """
    previous = await _stored_path(store, base, incoming.name)
    digest = await asyncio.to_thread(incoming.sha256)
    path = original_path(base.workspace_id, base.id, digest, incoming.name)
    existed = await originals.put(
        base.workspace_id, base.id, path, incoming.chunks(), sha256=digest
    )
    try:
        document, changed = await store.add_document(
            base.workspace_id,
            base.id,
            incoming.name,
            content_hash=digest,
            size_bytes=incoming.size,
            source=incoming.source,
            mime_type=SUPPORTED_TYPES[kind],
            storage_path=path,
            metadata=incoming.metadata,
        )
    except Exception:
        if not existed:
            await release_original(store, originals, base.workspace_id, path)
        raise
    if changed and previous is not None and previous != document.storage_path:
        # the edited file replaced it
        await release_original(store, originals, base.workspace_id, previous)
    return document, changed


async def release_original(
    store: KnowledgeStore, originals: OriginalStore, workspace_id: uuid.UUID, path: str | None
) -> None:
    """Delete a stored original unless a document of the workspace still refers to it (two
    names that map to one safe name, with the same content, share one)."""
    if not path:
        return
    async with store.engine.connect() as conn:
        used = await conn.scalar(
            select(Document.id)
            .where(Document.workspace_id == workspace_id, Document.storage_path == path)
            .limit(1)
        )
    if used is None:
        await originals.delete(workspace_id, path)


async def _stored_path(store: KnowledgeStore, base: KnowledgeBase, name: str) -> str | None:
    """Where the current original of the document called ``name`` is kept, if it exists."""
    async with store.engine.connect() as conn:
        path: str | None = await conn.scalar(
            select(Document.storage_path).where(
                Document.workspace_id == base.workspace_id,
                Document.knowledge_base_id == base.id,
                Document.name == safe_document_name(name),
            )
        )
    return path


class IngestQueueUnavailable(ReporunnerError):
    """The ingestion job could not be queued (Redis unreachable); the document is failed."""

    code = "ingest_queue_unavailable"
    status = 503


async def enqueue_ingest(resources: Resources, document: DocumentRecord) -> None:
    """Queue the ``ingest_document`` job (the job id makes a double enqueue a no-op).

    Raises:
        IngestQueueUnavailable: Redis refused; the document is marked failed with the reason,
            so uploading it again queues it again.
    """
    job_id = f"kb-ingest:{document.id}:{document.content_hash}:{document.updated_at.timestamp()}"
    try:
        await resources.arq.enqueue_job(
            "ingest_document", str(document.id), content_hash=document.content_hash, _job_id=job_id
        )
    except (RedisError, OSError) as err:
        reason = f"could not queue the ingestion ({err}); upload the file again"
        await store_of(resources).set_status(
            document.workspace_id, document.id, "failed", error=reason
        )
        raise IngestQueueUnavailable(f"'{document.name}': {reason}") from err


async def upload_documents(
    resources: Resources,
    workspace_id: uuid.UUID,
    base_id: uuid.UUID,
    files: list[IncomingFile],
) -> list[UploadedDocument]:
    """Check every file's type and size, then store them and queue their ingestion.

    Nothing is stored when one file is refused, so a client can fix it and send the same
    upload again. Identical content under the same name is a no-op (``unchanged``).

    Raises:
        NotFoundError: no such base in this workspace.
        ConflictError: the base is being re-embedded.
        UnsupportedDocumentType: a file is none of the supported formats (415, lists them).
        DocumentTooLarge: a file exceeds ``max_upload_bytes`` (413, names the limit).
        DocumentEmpty: a file is empty.
    """
    base = await store_of(resources).get_base(workspace_id, base_id)
    if base.settings.get("reembedding"):
        raise ConflictError(
            f"knowledge base '{base.name}' is being re-embedded; upload again when it is done"
        )
    limits = parse_limits(resources.settings)
    kinds = []
    for incoming in files:
        try:
            kinds.append(await asyncio.to_thread(_sniff, incoming, limits))
        except DocumentError as err:
            raise _named(err, incoming.name) from err
    accepted = []
    for incoming, kind in zip(files, kinds, strict=True):
        document, changed = await store_document(
            store_of(resources), originals(resources), base, incoming, kind
        )
        if changed:
            await enqueue_ingest(resources, document)
            await publish_event(
                resources.redis,
                base.id,
                {
                    "type": "document.queued",
                    "knowledge_base_id": str(base.id),
                    "document_id": str(document.id),
                    "status": "queued",
                    "name": document.name,
                },
            )
        accepted.append(
            UploadedDocument(
                id=document.id, name=document.name, status=document.status, unchanged=not changed
            )
        )
    return accepted


async def list_documents(
    session: AsyncSession, workspace_id: uuid.UUID, base_id: uuid.UUID
) -> list[DocumentRecord]:
    """Raises: NotFoundError: no such base in this workspace."""
    conn = await session.connection()
    await read_base(conn, workspace_id, base_id)
    return await read_documents(conn, workspace_id, base_id)


async def documents_now(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID
) -> list[DocumentRecord]:
    """:func:`list_documents` in a unit of work of its own (for a stream that outlives the
    request's transaction)."""
    async with transaction(resources.sessions) as session:
        return await list_documents(session, workspace_id, base_id)


def _in_base(document: DocumentRecord, base_id: uuid.UUID) -> DocumentRecord:
    if document.knowledge_base_id != base_id:
        raise NotFoundError(f"document '{document.id}' is not in knowledge base '{base_id}'")
    return document


async def get_document(
    session: AsyncSession, workspace_id: uuid.UUID, base_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentRecord:
    """Raises: NotFoundError: no such document in this base of this workspace."""
    document = await read_document(await session.connection(), workspace_id, document_id)
    return _in_base(document, base_id)


async def _stored_document(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentRecord:
    document = await store_of(resources).get_document(workspace_id, document_id)
    return _in_base(document, base_id)


async def delete_document(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    """Delete a document and its chunks (one transaction), then its stored original."""
    document = await _stored_document(resources, workspace_id, base_id, document_id)
    store = store_of(resources)
    await store.delete_document(workspace_id, document.id)
    await release_original(store, originals(resources), workspace_id, document.storage_path)


async def retry_document(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentRecord:
    """Queue a failed document's ingestion again, from its stored original.

    For failures that a change elsewhere can cure (the base was full and documents were
    deleted, the embedding service was down, a worker kept dying): the same content is parsed
    and embedded anew, with a fresh count of attempts, and the progress events follow as for
    an upload.

    Raises:
        NotFoundError: no such document in this base of this workspace.
        ConflictError: the document is not ``failed``, has no stored original, or the base
            is being re-embedded.
    """
    base = await store_of(resources).get_base(workspace_id, base_id)
    if base.settings.get("reembedding"):
        raise ConflictError(
            f"knowledge base '{base.name}' is being re-embedded; retry when it is done"
        )
    async with transaction(resources.sessions) as session:
        row = await session.scalar(
            select(Document)
            .where(
                Document.workspace_id == workspace_id,
                Document.knowledge_base_id == base_id,
                Document.id == document_id,
            )
            .with_for_update()
        )
        if row is None:
            raise NotFoundError(f"document '{document_id}' is not in knowledge base '{base_id}'")
        if row.status != "failed":
            raise ConflictError(
                f"document '{row.name}' is {row.status}; only a failed document can be retried"
            )
        if not row.storage_path:
            raise ConflictError(f"document '{row.name}' has no stored original; upload it again")
        row.status, row.error, row.chunks_done = "queued", None, 0
        row.ingest_attempts, row.ingested_hash, row.heartbeat_at = 0, None, None
        row.updated_at = func.now()
    document = await store_of(resources).get_document(workspace_id, document_id)
    await enqueue_ingest(resources, document)
    await publish_event(
        resources.redis,
        base.id,
        {
            "type": "document.queued",
            "knowledge_base_id": str(base.id),
            "document_id": str(document.id),
            "status": "queued",
            "name": document.name,
        },
    )
    return document


def missing_original(
    resources: Resources, document: DocumentRecord, err: OriginalMissing
) -> NotFoundError:
    """The 404 of a missing original; it names `reporunner migrate` when the file is still
    on this machine's data directory (stored there by an earlier version)."""
    path = document.storage_path or ""
    if path and (local_root(resources.settings.data_dir) / path).is_file():
        return OriginalMissing(
            f"the original of '{document.name}' is still in the data directory of an earlier "
            "version; run `reporunner migrate` to move it into the store"
        )
    return err


async def stream_original(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[DocumentRecord, StoredOriginal, AsyncIterator[bytes]]:
    """The document, its stored original's size and its bytes as a stream (for a download:
    the 404 comes before the first byte).

    Raises:
        NotFoundError: no such document, or its original is gone.
    """
    document = await _stored_document(resources, workspace_id, base_id, document_id)
    if not document.storage_path:
        raise NotFoundError(f"document '{document.name}' has no stored original")
    try:
        stored = await originals(resources).stat(workspace_id, document.storage_path)
    except OriginalMissing as err:
        raise missing_original(resources, document, err) from None
    return document, stored, originals(resources).read(workspace_id, document.storage_path)


async def read_original(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[DocumentRecord, bytes]:
    """The document and the bytes of its original, whole (a parser needs them whole).

    Raises:
        NotFoundError: no such document, or its original is gone.
    """
    document = await _stored_document(resources, workspace_id, base_id, document_id)
    if not document.storage_path:
        raise NotFoundError(f"document '{document.name}' has no stored original")
    try:
        data = await read_all(originals(resources), workspace_id, document.storage_path)
    except OriginalMissing as err:
        raise missing_original(resources, document, err) from None
    return document, data


async def document_chunks(
    resources: Resources,
    workspace_id: uuid.UUID,
    base_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
) -> tuple[DocumentRecord, list[DocumentChunk], int]:
    """The document, a page of its chunks in reading order, and its chunk count.

    Raises:
        NotFoundError: no such document in this base of the workspace.
    """
    document = await _stored_document(resources, workspace_id, base_id, document_id)
    chunks, total = await store_of(resources).list_chunks(
        workspace_id, document.id, offset=offset, limit=limit
    )
    return document, chunks, total


# -- search ---------------------------------------------------------------


async def search(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID, request: SearchRequest
) -> SearchResult:
    """Search one base of the workspace with its own embedding model.

    Raises:
        NotFoundError: no such base in this workspace.
        ValidationFailed: malformed filters.
    """
    base = await store_of(resources).get_base(workspace_id, base_id)
    embedder = embedder_for(base.embedding_model, base.embedding_dim)
    return await store_of(resources).search(workspace_id, base.id, request, embedder)
