"""Knowledge jobs: ingest one uploaded document; move a base to a new embedding model."""

from __future__ import annotations

from typing import Any

from reporunner.platform.knowledge.ingest import ingest_stored_document, reembed_base

__all__ = ["JOBS", "ingest_document", "reembed_knowledge_base"]


async def ingest_document(
    ctx: dict[str, Any], document_id: str, content_hash: str | None = None
) -> dict[str, Any]:
    """Parse → chunk → embed → index one document from its stored original.

    Progress goes to the document row and to the ``reporunner:kb:<kb_id>`` Redis channel.
    """
    outcome = await ingest_stored_document(ctx["resources"], document_id, content_hash)
    return outcome.as_dict()


async def reembed_knowledge_base(
    ctx: dict[str, Any], knowledge_base_id: str, embedding_model: str, embedding_dim: int
) -> dict[str, Any]:
    """Re-embed every document of a base with a new model (see ``reembed_base``)."""
    return await reembed_base(ctx["resources"], knowledge_base_id, embedding_model, embedding_dim)


JOBS = [ingest_document, reembed_knowledge_base]
