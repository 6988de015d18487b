"""Ingestion: parse → chunk → embed (batched, reusing known vectors) → index.

The arq job calls :func:`ingest_documents` (or :func:`ingest_document` for one file) with the
bytes it stored. Each document moves ``parsing`` → ``embedding`` (``chunks_done``/``chunks_total``
updated after every batch) → ``ready``, or ends ``failed`` with the reason; one bad file never
stops the others. Embedding batches span documents so that many small files embed as fast as
one large one, and a document's chunks are written (one transaction) while the next batch is
being embedded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reporunner.knowledge.chunking import Chunk, ChunkingOptions, chunk_document
from reporunner.knowledge.embeddings import Embedder
from reporunner.knowledge.errors import DocumentError, DocumentTooLarge, EmbeddingError
from reporunner.knowledge.models import DocumentRecord, KnowledgeBase
from reporunner.knowledge.parsing import ParseLimits, parse_document
from reporunner.knowledge.store import KnowledgeStore

__all__ = [
    "IngestProgress",
    "IngestResult",
    "ProgressCallback",
    "add_and_ingest",
    "chunking_options",
    "content_hash_bytes",
    "ingest_document",
    "ingest_documents",
]


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """A document's ingestion state, as reported to the progress callback."""

    document_id: uuid.UUID
    status: str
    chunks_done: int = 0
    chunks_total: int = 0
    error: str | None = None


ProgressCallback = Callable[[IngestProgress], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """How a document's ingestion ended.

    ``chunks_embedded`` counts vectors computed now; ``chunks_reused`` those taken from chunks
    the base already held with the same content hash.
    """

    document_id: uuid.UUID
    status: str
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    error: str | None = None


@dataclass(slots=True)
class _Job:
    document: DocumentRecord
    chunks: list[Chunk] = field(default_factory=list)
    vectors: dict[int, list[float]] = field(default_factory=dict)
    reused: int = 0
    error: str | None = None
    written: bool = False


def _parse_and_chunk_all(
    files: Sequence[bytes], limits: ParseLimits, embedder: Embedder, options: ChunkingOptions
) -> list[list[Chunk] | DocumentError]:
    counter = embedder.token_counter()
    out: list[list[Chunk] | DocumentError] = []
    for data in files:
        try:
            chunks = chunk_document(parse_document(data, limits), counter, options)
        except DocumentError as err:
            out.append(err)
            continue
        if len(chunks) > limits.max_chunks:
            out.append(
                DocumentTooLarge(
                    f"the document makes {len(chunks)} chunks; the limit is {limits.max_chunks} "
                    "(REPORUNNER_MAX_DOCUMENT_CHUNKS). Split it into smaller files",
                    limit=limits.max_chunks,
                )
            )
        else:
            out.append(chunks)
    return out


async def _refuse_over_base_limit(
    store: KnowledgeStore, base: KnowledgeBase, jobs: list[_Job], limit: int
) -> list[_Job]:
    """Refuse the documents that would take the base past ``limit`` chunks (in order)."""
    live = [job for job in jobs if job.error is None]
    held = await store.chunks_in_base(base, [job.document.id for job in live])
    refused = []
    for job in live:
        if held + len(job.chunks) > limit:
            job.error = (
                f"the knowledge base would hold {held + len(job.chunks)} chunks; the limit is "
                f"{limit} (REPORUNNER_MAX_BASE_CHUNKS). Delete documents or use another base"
            )
            job.chunks = []
            refused.append(job)
        else:
            held += len(job.chunks)
    return refused


def chunking_options(base: KnowledgeBase, embedder: Embedder) -> ChunkingOptions:
    """The base's chunk size, capped at what the model embeds without truncation."""
    size = max(8, min(base.chunk_size, embedder.max_tokens))
    return ChunkingOptions(size=size, overlap=min(base.chunk_overlap, size // 2 - 1))


async def _report(progress: ProgressCallback | None, event: IngestProgress) -> None:
    if progress is not None:
        await progress(event)


async def _prepare(
    store: KnowledgeStore,
    base: KnowledgeBase,
    jobs: list[_Job],
    files: Sequence[bytes],
    embedder: Embedder,
    limits: ParseLimits,
    progress: ProgressCallback | None,
) -> None:
    """Parse and chunk every file, then take known vectors; a few statements for the lot."""
    ws = base.workspace_id
    await store.set_progress(
        ws, "parsing", [(j.document.id, j.document.chunks_total, 0) for j in jobs]
    )
    for job in jobs:
        await _report(progress, IngestProgress(job.document.id, "parsing"))
    options = chunking_options(base, embedder)
    outcomes = await asyncio.to_thread(_parse_and_chunk_all, files, limits, embedder, options)
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, DocumentError):
            job.error = outcome.detail
            await store.set_status(ws, job.document.id, "failed", error=outcome.detail)
            await _report(progress, IngestProgress(job.document.id, "failed", error=job.error))
        else:
            job.chunks = outcome
    for job in await _refuse_over_base_limit(store, base, jobs, limits.max_base_chunks):
        await store.set_status(ws, job.document.id, "failed", error=job.error)
        await _report(progress, IngestProgress(job.document.id, "failed", error=job.error))
    live = [job for job in jobs if job.error is None]
    known = await store.reusable_embeddings(
        base, [c.content_hash for job in live for c in job.chunks]
    )
    for job in live:
        for index, chunk in enumerate(job.chunks):
            if chunk.content_hash in known:
                job.vectors[index] = known[chunk.content_hash]
        job.reused = len(job.vectors)
    await store.set_progress(
        ws, "embedding", [(j.document.id, len(j.chunks), j.reused) for j in live]
    )
    for job in live:
        await _report(
            progress, IngestProgress(job.document.id, "embedding", job.reused, len(job.chunks))
        )


async def _finish(
    store: KnowledgeStore, base: KnowledgeBase, job: _Job, progress: ProgressCallback | None
) -> None:
    doc = job.document
    vectors = [job.vectors[i] for i in range(len(job.chunks))]
    await store.replace_chunks(
        base, doc.id, job.chunks, vectors, metadata=doc.metadata, status="ready"
    )
    job.written = True
    total = len(job.chunks)
    await _report(progress, IngestProgress(doc.id, "ready", total, total))


async def ingest_documents(
    store: KnowledgeStore,
    workspace_id: uuid.UUID | str,
    files: Sequence[tuple[uuid.UUID | str, bytes]],
    embedder: Embedder,
    *,
    limits: ParseLimits | None = None,
    progress: ProgressCallback | None = None,
    batch_size: int = 64,
) -> list[IngestResult]:
    """Ingest registered documents (see :meth:`KnowledgeStore.add_document`) of one base.

    Args:
        store: The knowledge store.
        workspace_id: Workspace of the documents.
        files: ``(document_id, file bytes)`` pairs, all of the same knowledge base.
        embedder: The base's embedding model.
        limits: Parser limits.
        progress: Awaited after every state change of a document.
        batch_size: Chunks per embedding call (across documents).

    Returns:
        One result per file, in order; failed documents carry the reason.

    Raises:
        EmbeddingError: the embedder is not the base's model, or the model failed (the
            documents being embedded are marked failed first).
    """
    limits = limits or ParseLimits()
    jobs = [_Job(await store.get_document(workspace_id, doc_id)) for doc_id, _ in files]
    if not jobs:
        return []
    base = await store.get_base(workspace_id, jobs[0].document.knowledge_base_id)
    if any(j.document.knowledge_base_id != base.id for j in jobs):
        raise ValueError("ingest_documents takes documents of one knowledge base per call")
    if embedder.dim != base.embedding_dim:
        raise EmbeddingError(
            f"knowledge base '{base.name}' uses '{base.embedding_model}' "
            f"({base.embedding_dim} dimensions); got an embedder of {embedder.dim}"
        )
    await _prepare(store, base, jobs, [data for _, data in files], embedder, limits, progress)
    try:
        await _embed_all(store, base, jobs, embedder, progress, batch_size)
    except Exception as err:
        for job in jobs:
            if job.error is None and not job.written:
                job.error = f"embedding failed: {err}"
                await store.set_status(workspace_id, job.document.id, "failed", error=job.error)
        raise
    return [
        IngestResult(
            job.document.id,
            "failed" if job.error else "ready",
            len(job.chunks),
            len(job.chunks) - job.reused,
            job.reused,
            job.error,
        )
        for job in jobs
    ]


async def _embed_all(
    store: KnowledgeStore,
    base: KnowledgeBase,
    jobs: list[_Job],
    embedder: Embedder,
    progress: ProgressCallback | None,
    batch_size: int,
) -> None:
    pending = _pending_in_order(jobs, batch_size)
    writer: asyncio.Task[None] | None = None
    ready = [job for job in jobs if job.error is None and len(job.vectors) == len(job.chunks)]

    async def write(batch: list[_Job], previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await previous
        for job in await _still_wanted(store, base, batch):
            await _finish(store, base, job, progress)

    try:
        for start in range(0, len(pending), batch_size):
            if ready:
                writer = asyncio.create_task(write(ready, writer))
                ready = []
            batch = await _next_batch(store, base, pending, start, batch_size)
            if not batch:
                continue
            vectors = await embedder.embed([job.chunks[i].text for job, i in batch])
            done, partial = _take_vectors(batch, vectors)
            ready.extend(done)
            await store.set_progress(base.workspace_id, "embedding", partial)
            for doc_id, total, count in partial:
                await _report(progress, IngestProgress(doc_id, "embedding", count, total))
    except BaseException:
        if writer is not None:  # let finished documents land; the embedding error propagates
            await asyncio.gather(writer, return_exceptions=True)
        raise
    await write(ready, writer)


def _take_vectors(
    batch: list[tuple[_Job, int]], vectors: list[list[float]]
) -> tuple[list[_Job], list[tuple[uuid.UUID, int, int]]]:
    """Store a batch's vectors; (jobs now complete, (id, total, done) of the others)."""
    touched: dict[uuid.UUID, _Job] = {}
    for (job, index), vector in zip(batch, vectors, strict=True):
        job.vectors[index] = vector
        touched[job.document.id] = job
    complete, partial = [], []
    for job in touched.values():
        if len(job.vectors) == len(job.chunks):
            complete.append(job)
        else:
            partial.append((job.document.id, len(job.chunks), len(job.vectors)))
    return complete, partial


def _pending_in_order(jobs: list[_Job], batch_size: int) -> list[tuple[_Job, int]]:
    """(job, chunk index) of every chunk still to embed.

    Like SentenceTransformer.encode, texts of similar length are batched together (less
    padding), but only within windows so that documents keep completing (and being written)
    early.
    """
    pending = [
        (job, index)
        for job in jobs
        if job.error is None
        for index in range(len(job.chunks))
        if index not in job.vectors
    ]
    window = batch_size * 8
    return [
        entry
        for start in range(0, len(pending), window)
        for entry in sorted(
            pending[start : start + window], key=lambda e: e[0].chunks[e[1]].token_count
        )
    ]


async def _next_batch(
    store: KnowledgeStore,
    base: KnowledgeBase,
    pending: list[tuple[_Job, int]],
    start: int,
    size: int,
) -> list[tuple[_Job, int]]:
    """The next ``size`` chunks to embed, without those of documents no longer wanted."""
    upcoming = {job.document.id: job for job, _ in pending[start:]}
    wanted = {job.document.id for job in await _still_wanted(store, base, upcoming.values())}
    return [(job, i) for job, i in pending[start : start + size] if job.document.id in wanted]


async def _still_wanted(
    store: KnowledgeStore, base: KnowledgeBase, jobs: Iterable[_Job]
) -> list[_Job]:
    """The jobs whose document still exists with the same content; the others (deleted or
    replaced while they were embedded) stop here, at the next batch, and are not written."""
    jobs = [job for job in jobs if job.error is None]
    live = await store.live_documents(
        base.workspace_id, {job.document.id: job.document.content_hash for job in jobs}
    )
    for job in jobs:
        if job.document.id not in live:
            job.error = "the document was deleted or replaced while it was being ingested"
    return [job for job in jobs if job.document.id in live]


async def ingest_document(
    store: KnowledgeStore,
    workspace_id: uuid.UUID | str,
    document_id: uuid.UUID | str,
    data: bytes,
    embedder: Embedder,
    *,
    limits: ParseLimits | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Ingest one registered document (see :func:`ingest_documents`)."""
    results = await ingest_documents(
        store, workspace_id, [(document_id, data)], embedder, limits=limits, progress=progress
    )
    return results[0]


async def add_and_ingest(
    store: KnowledgeStore,
    workspace_id: uuid.UUID | str,
    base_id: uuid.UUID | str,
    name: str,
    data: bytes,
    embedder: Embedder,
    *,
    source: str = "upload",
    metadata: Mapping[str, Any] | None = None,
    limits: ParseLimits | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Register and ingest one file in-process (the CLI without a server, the ingest node).

    Re-adding identical content is a no-op that reports the document as it is.
    """
    from reporunner.knowledge.parsing import SUPPORTED_TYPES, sniff

    kind = sniff(data, limits)
    document, changed = await store.add_document(
        workspace_id,
        base_id,
        name,
        content_hash=content_hash_bytes(data),
        size_bytes=len(data),
        source=source,
        mime_type=SUPPORTED_TYPES[kind],
        metadata=metadata,
    )
    if not changed:
        return IngestResult(document.id, document.status, document.chunks_total)
    return await ingest_document(
        store, workspace_id, document.id, data, embedder, limits=limits, progress=progress
    )


def content_hash_bytes(data: bytes) -> str:
    """sha256 of a file's bytes (``documents.content_hash``)."""
    import hashlib

    return hashlib.sha256(data).hexdigest()
