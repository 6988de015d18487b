"""Knowledge jobs: ingest one uploaded document; move a base to a new embedding model."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from reporunner.platform.knowledge.ingest import ingest_stored_document, reembed_base
from reporunner.platform.knowledge.reaper import hand_back_documents
from reporunner.platform.worker.loop import worker_stopping

log = logging.getLogger("reporunner.knowledge")

__all__ = ["JOBS", "ingest_document", "reembed_knowledge_base"]


async def ingest_document(
    ctx: dict[str, Any], document_id: str, content_hash: str | None = None
) -> dict[str, Any]:
    """Parse → chunk → embed → index one document from its stored original.

    Progress goes to the document row and to the ``reporunner:kb:<kb_id>`` Redis channel.
    When the worker stops mid-way (SIGTERM, past its grace period) the document goes back to
    ``queued`` and arq runs the job again on the next worker; never left ``parsing``.
    """
    try:
        outcome = await ingest_stored_document(ctx["resources"], document_id, content_hash)
    except asyncio.CancelledError:
        if worker_stopping(ctx):
            await asyncio.shield(_hand_back(ctx, [uuid.UUID(document_id)], None))
        raise
    return outcome.as_dict()


async def _hand_back(
    ctx: dict[str, Any], document_ids: list[uuid.UUID], base_id: uuid.UUID | None
) -> None:
    try:
        await hand_back_documents(ctx["resources"], document_ids, knowledge_base_id=base_id)
    except Exception:  # the reaper queues them again later (counting an attempt)
        log.warning("could not hand documents back; the reaper will", exc_info=True)


async def reembed_knowledge_base(
    ctx: dict[str, Any], knowledge_base_id: str, embedding_model: str, embedding_dim: int
) -> dict[str, Any]:
    """Re-embed every document of a base with a new model (see ``reembed_base``).

    A stopping worker hands the base's documents in progress back to ``queued``; arq runs the
    re-embed again on the next worker.
    """
    try:
        return await reembed_base(
            ctx["resources"], knowledge_base_id, embedding_model, embedding_dim
        )
    except asyncio.CancelledError:
        if worker_stopping(ctx):
            await asyncio.shield(_hand_back(ctx, [], uuid.UUID(knowledge_base_id)))
        raise


JOBS = [ingest_document, reembed_knowledge_base]
