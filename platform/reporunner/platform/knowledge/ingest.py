"""Ingestion as the worker runs it: stored original → core pipeline, progress on row + Redis.

:func:`ingest_stored_document` is the body of the ``ingest_document`` job; :func:`reembed_base`
the body of ``reembed_knowledge_base`` (move a base to a new embedding model: its chunks are
dropped, the model and HNSW index replaced, and every original ingested again).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text

from reporunner.knowledge import (
    DocumentRecord,
    Embedder,
    EmbeddingError,
    IngestProgress,
    KnowledgeBase,
    embedder_for,
    ingest_documents,
)
from reporunner.knowledge._bases import hnsw_index_name
from reporunner.nodes.errors import ConflictError, NotFoundError
from reporunner.platform.db.models import Document
from reporunner.platform.db.models import KnowledgeBase as KnowledgeBaseRow
from reporunner.platform.db.session import transaction
from reporunner.platform.knowledge.events import SETTLED, progress_event, publish_event
from reporunner.platform.knowledge.reaper import claim_document, heartbeat, settle_document
from reporunner.platform.knowledge.schemas import ReembedIn
from reporunner.platform.knowledge.service import (
    missing_original,
    originals,
    parse_limits,
    resolve_embedder,
    store_of,
)
from reporunner.platform.originals import OriginalMissing, read_all
from reporunner.platform.resources import Resources

__all__ = ["IngestOutcome", "ingest_stored_document", "reembed_base", "start_reembed"]

log = logging.getLogger(__name__)
_REEMBED_BATCH = 16


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """How one job ended (the job's arq result, as a dict)."""

    document_id: str
    status: str
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "status": self.status,
            "chunks_total": self.chunks_total,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "error": self.error,
        }


def _progress(resources: Resources, base_id: uuid.UUID) -> Any:
    async def report(progress: IngestProgress) -> None:
        await publish_event(resources.redis, base_id, progress_event(base_id, progress))

    return report


async def _fail(resources: Resources, document: DocumentRecord, reason: str) -> IngestOutcome:
    await store_of(resources).set_status(document.workspace_id, document.id, "failed", error=reason)
    report = _progress(resources, document.knowledge_base_id)
    await report(IngestProgress(document.id, "failed", error=reason))
    return IngestOutcome(str(document.id), "failed", error=reason)


async def _ingest(
    resources: Resources,
    base: KnowledgeBase,
    documents: list[DocumentRecord],
    embedder: Embedder,
) -> list[IngestOutcome]:
    """Ingest documents of one base from their stored originals (missing ones fail)."""
    outcomes: list[IngestOutcome] = []
    files: list[tuple[uuid.UUID | str, bytes]] = []
    for document in documents:
        try:
            if not document.storage_path:
                raise NotFoundError("the document has no stored original; upload it again")
            path = document.storage_path
            try:
                data = await read_all(originals(resources), document.workspace_id, path)
            except OriginalMissing as err:
                raise missing_original(resources, document, err) from None
            files.append((document.id, data))
        except NotFoundError as err:
            outcomes.append(await _fail(resources, document, err.detail))
    results = await ingest_documents(
        store_of(resources),
        base.workspace_id,
        files,
        embedder,
        limits=parse_limits(resources.settings),
        progress=_progress(resources, base.id),
    )
    for r in results:
        outcomes.append(
            IngestOutcome(
                str(r.document_id),
                r.status,
                r.chunks_total,
                r.chunks_embedded,
                r.chunks_reused,
                r.error,
            )
        )
    return outcomes


async def ingest_stored_document(
    resources: Resources, document_id: str, content_hash: str | None = None
) -> IngestOutcome:
    """Parse, chunk, embed and index one uploaded document.

    A job for content that has since been replaced (``content_hash`` no longer the row's) or
    for a deleted document does nothing: the newer upload queued its own job. So does a job
    for content whose ingestion has ended already (``skipped``: arq retrying the job of a dead
    worker after the document reaper queued a new one). While it runs the job keeps the
    document's heartbeat fresh for the reaper.
    """
    async with transaction(resources.sessions) as session:
        row = await session.scalar(select(Document).where(Document.id == uuid.UUID(document_id)))
    if row is None:
        return IngestOutcome(document_id, "deleted")
    if content_hash is not None and row.content_hash != content_hash:
        return IngestOutcome(document_id, "superseded")
    if row.status in SETTLED and row.ingested_hash == row.content_hash:
        return IngestOutcome(document_id, "skipped")
    await claim_document(resources, row.id)
    store = store_of(resources)
    try:
        async with heartbeat(resources, [row.id]):
            document = await store.get_document(row.workspace_id, row.id)
            base = await store.get_base(row.workspace_id, row.knowledge_base_id)
            try:
                embedder = embedder_for(base.embedding_model, base.embedding_dim)
                outcomes = await _ingest(resources, base, [document], embedder)
            except EmbeddingError as err:  # the pipeline marked the document failed already
                log.warning("ingesting %s failed: %s", document_id, err.detail)
                return await _fail(resources, document, f"embedding failed: {err.detail}")
            return outcomes[0]
    finally:
        await settle_document(resources, row.id, row.content_hash)


async def _switch_model(resources: Resources, base: KnowledgeBase, model: str, dim: int) -> None:
    """Drop the base's chunks and index, store the new model, queue every document again."""
    params = {"ws": base.workspace_id, "kb": base.id}
    async with resources.engine.begin() as conn:
        await conn.execute(text(f"DROP INDEX IF EXISTS {hnsw_index_name(base.id)}"))
        # chunks and the keyword statistics counted from them go together
        for table in ("chunks", "knowledge_terms"):
            await conn.execute(
                text(f"DELETE FROM {table} WHERE workspace_id = :ws AND knowledge_base_id = :kb"),
                params,
            )
        await conn.execute(
            text(
                "UPDATE knowledge_bases SET embedding_model = :model, embedding_dim = :dim, "
                "settings = (settings - '_stats') || CAST(:flag AS jsonb), updated_at = now() "
                "WHERE workspace_id = :ws AND id = :kb"
            ),
            {**params, "model": model, "dim": dim, "flag": json.dumps({"reembedding": True})},
        )
        await conn.execute(
            text(
                "UPDATE documents SET status = 'queued', error = NULL, chunks_done = 0, "
                "updated_at = now() WHERE workspace_id = :ws AND knowledge_base_id = :kb"
            ),
            params,
        )


async def reembed_base(
    resources: Resources, base_id: str, embedding_model: str, embedding_dim: int
) -> dict[str, Any]:
    """Move a base to a new embedding model and ingest every document again.

    Search keeps working on the documents already re-embedded; the ``reembedding`` flag is
    cleared at the end, whatever happened (failed documents carry their reason).
    """
    async with transaction(resources.sessions) as session:
        workspace_id = await session.scalar(
            text("SELECT workspace_id FROM knowledge_bases WHERE id = :id"),
            {"id": uuid.UUID(base_id)},
        )
    if workspace_id is None:
        return {"knowledge_base_id": base_id, "status": "deleted"}
    store = store_of(resources)
    base = await store.get_base(workspace_id, base_id)
    embedder = embedder_for(embedding_model, embedding_dim)
    counts = {"ready": 0, "failed": 0}
    try:
        await _switch_model(resources, base, embedder.model_name, embedder.dim)
        base = await store.get_base(workspace_id, base_id)
        await store.ensure_index(base)
        documents = await store.list_documents(workspace_id, base_id)
        # the queued documents have no job of their own: keep the document reaper off them
        async with heartbeat(resources, knowledge_base_id=base.id):
            for start in range(0, len(documents), _REEMBED_BATCH):
                batch = documents[start : start + _REEMBED_BATCH]
                for outcome in await _ingest(resources, base, batch, embedder):
                    counts["ready" if outcome.status == "ready" else "failed"] += 1
    finally:
        async with resources.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE knowledge_bases SET settings = settings - 'reembedding' "
                    "WHERE workspace_id = :ws AND id = :kb"
                ),
                {"ws": workspace_id, "kb": uuid.UUID(base_id)},
            )
    await publish_event(
        resources.redis,
        base_id,
        {"type": "knowledge_base.reembedded", "knowledge_base_id": base_id, **counts},
    )
    return {"knowledge_base_id": base_id, "status": "done", "model": embedder.model_name, **counts}


async def start_reembed(
    resources: Resources, workspace_id: uuid.UUID, base_id: uuid.UUID, body: ReembedIn
) -> KnowledgeBase:
    """Mark the base as re-embedding and queue the ``reembed_knowledge_base`` job.

    Raises:
        NotFoundError: no such base in this workspace.
        ConflictError: a re-embed is already running.
        ValidationFailed: unknown dimension for the model.
    """
    embedder = resolve_embedder(body.embedding_model, body.embedding_dim)
    async with transaction(resources.sessions) as session:
        row = await session.scalar(
            select(KnowledgeBaseRow)
            .where(KnowledgeBaseRow.workspace_id == workspace_id, KnowledgeBaseRow.id == base_id)
            .with_for_update()
        )
        if row is None:
            raise NotFoundError(f"knowledge base '{base_id}' does not exist in this workspace")
        if row.settings.get("reembedding"):
            raise ConflictError(f"knowledge base '{row.name}' is already being re-embedded")
        row.settings = {**row.settings, "reembedding": True}
    await resources.arq.enqueue_job(
        "reembed_knowledge_base",
        str(base_id),
        embedder.model_name,
        embedder.dim,
        _job_id=f"kb-reembed:{base_id}:{uuid.uuid4().hex}",
    )
    return await store_of(resources).get_base(workspace_id, base_id)
