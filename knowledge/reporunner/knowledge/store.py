"""The knowledge store: knowledge bases, documents and chunks in Postgres + pgvector.

It speaks SQL (SQLAlchemy Core ``text()``) over the engine it is given and never imports the
platform's ORM models (``knowledge`` sits below ``platform``). Every statement filters by
``workspace_id``: a caller can only ever reach its own workspace's rows.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncEngine

from reporunner.knowledge._bases import as_uuid
from reporunner.knowledge._documents import DocumentOps
from reporunner.knowledge._search import open_search, run_search
from reporunner.knowledge.embeddings import Embedder
from reporunner.knowledge.errors import EmbeddingError
from reporunner.knowledge.models import SearchHit, SearchRequest, SearchResult

__all__ = ["KnowledgeStore", "Reranker"]


@runtime_checkable
class Reranker(Protocol):
    """Re-scores (query, passage) pairs, e.g. a sentence-transformers cross-encoder."""

    async def score(self, query: str, passages: list[str]) -> list[float]:
        """Relevance of each passage to the query (higher is better)."""
        ...


class KnowledgeStore(DocumentOps):
    """Knowledge bases, documents, chunks and search, one workspace at a time.

    Args:
        engine: SQLAlchemy async engine (``postgresql+psycopg://``) of a migrated database.
        reranker: Optional cross-encoder used when a search asks for ``rerank``.
    """

    def __init__(self, engine: AsyncEngine, reranker: Reranker | None = None) -> None:
        super().__init__(engine)
        self.reranker = reranker

    async def search(
        self,
        workspace_id: uuid.UUID | str,
        base_id: uuid.UUID | str,
        request: SearchRequest,
        embedder: Embedder,
    ) -> SearchResult:
        """Search one knowledge base of the workspace.

        Args:
            workspace_id: The caller's workspace (the only one whose chunks can come back).
            base_id: The knowledge base.
            request: Query, mode, top_k, filters, rerank.
            embedder: The base's embedding model (see :func:`embedder_for`).

        Raises:
            NotFoundError: no such base in this workspace.
            ValidationFailed: malformed filters.
            EmbeddingError: ``embedder`` is not the base's model.
        """
        ws, kb = as_uuid(workspace_id, "workspace"), as_uuid(base_id, "knowledge base")
        vector = await embedder.embed_query(request.query) if request.mode != "keyword" else None
        notes: list[str] = []
        wanted = request
        if request.rerank and self.reranker is not None:
            wanted = request.model_copy(update={"top_k": min(100, max(request.top_k * 4, 20))})
        async with self.engine.begin() as conn:
            base, plan = await open_search(conn, ws, kb, wanted)
            if vector is not None and len(vector) != base.embedding_dim:
                raise EmbeddingError(
                    f"knowledge base '{base.name}' holds {base.embedding_dim}-dimensional "
                    f"vectors of '{base.embedding_model}'; the given embedder makes {len(vector)}"
                )
            hits = await run_search(conn, base, wanted, vector, plan)
        if request.rerank:
            if self.reranker is None:
                notes.append("rerank skipped: no cross-encoder model is installed")
            else:
                hits = await self._rerank(request, hits)
        return SearchResult(tuple(hits[: request.top_k]), request.mode, tuple(notes))

    async def _rerank(self, request: SearchRequest, hits: list[SearchHit]) -> list[SearchHit]:
        assert self.reranker is not None
        scores = await self.reranker.score(request.query, [h.text for h in hits])
        order = sorted(range(len(hits)), key=lambda i: -scores[i])
        reranked = []
        for rank, index in enumerate(order, start=1):
            hit = hits[index]
            reranked.append(
                replace(hit, score=float(scores[index]), ranks={**hit.ranks, "rerank": rank})
            )
        return reranked
