"""The ``knowledge`` engine service: what the knowledge nodes call through ``ctx.service``.

The engine (platform) registers an object satisfying :class:`KnowledgeService` under the name
``"knowledge"``. :class:`StoreKnowledgeService` is the in-process implementation over a
:class:`~reporunner.knowledge.store.KnowledgeStore`; the platform may wrap it (e.g. to enqueue
ingestion as an arq job instead of running it inline).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from reporunner.knowledge.embeddings import DEFAULT_EMBEDDING_MODEL, Embedder, embedder_for
from reporunner.knowledge.models import KnowledgeBase, SearchRequest, SearchResult
from reporunner.knowledge.pipeline import IngestResult, add_and_ingest
from reporunner.knowledge.store import KnowledgeStore
from reporunner.nodes.errors import NotFoundError

__all__ = ["KnowledgeService", "StoreKnowledgeService"]


@runtime_checkable
class KnowledgeService(Protocol):
    """Search and ingest on behalf of a workspace; bases are named by id or by name."""

    async def search(
        self, workspace_id: str, knowledge_base: str, request: SearchRequest
    ) -> SearchResult:
        """Search one base of the workspace.

        Raises:
            NotFoundError: the workspace has no such base.
        """
        ...

    async def ingest(
        self,
        workspace_id: str,
        knowledge_base: str,
        name: str,
        data: bytes,
        *,
        source: str = "text",
        metadata: Mapping[str, Any] | None = None,
        create: bool = False,
    ) -> IngestResult:
        """Add (or update) one document and ingest it; ``create`` makes a missing base with
        the default embedding model.

        Raises:
            NotFoundError: the workspace has no such base and ``create`` is false.
            DocumentError: the content cannot be ingested (unsupported, too large...).
        """
        ...


class StoreKnowledgeService:
    """:class:`KnowledgeService` over a store, embedding in this process."""

    def __init__(
        self,
        store: KnowledgeStore,
        embedder_factory: Callable[[KnowledgeBase], Embedder] | None = None,
    ) -> None:
        self.store = store
        self._embedder_for = embedder_factory or (
            lambda base: embedder_for(base.embedding_model, base.embedding_dim)
        )

    async def resolve(self, workspace_id: str, knowledge_base: str) -> KnowledgeBase:
        """A base by id or, failing that, by name.

        Raises:
            NotFoundError: neither matches in this workspace.
        """
        try:
            return await self.store.get_base(workspace_id, uuid.UUID(knowledge_base))
        except (ValueError, NotFoundError):
            base = await self.store.find_base(workspace_id, knowledge_base)
        if base is None:
            raise NotFoundError(
                f"knowledge base '{knowledge_base}' does not exist in this workspace; check its "
                "name or id (GET /knowledge-bases lists them)"
            )
        return base

    async def search(
        self, workspace_id: str, knowledge_base: str, request: SearchRequest
    ) -> SearchResult:
        base = await self.resolve(workspace_id, knowledge_base)
        return await self.store.search(workspace_id, base.id, request, self._embedder_for(base))

    async def ingest(
        self,
        workspace_id: str,
        knowledge_base: str,
        name: str,
        data: bytes,
        *,
        source: str = "text",
        metadata: Mapping[str, Any] | None = None,
        create: bool = False,
    ) -> IngestResult:
        try:
            base = await self.resolve(workspace_id, knowledge_base)
        except NotFoundError:
            if not create:
                raise
            default = embedder_for(DEFAULT_EMBEDDING_MODEL)
            base = await self.store.create_base(
                workspace_id,
                knowledge_base,
                embedding_model=default.model_name,
                embedding_dim=default.dim,
            )
        return await add_and_ingest(
            self.store,
            workspace_id,
            base.id,
            name,
            data,
            self._embedder_for(base),
            source=source,
            metadata=metadata,
        )
