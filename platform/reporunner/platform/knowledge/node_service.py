"""The engine's ``knowledge`` service for workflows and agents, scoped to one workspace.

``knowledge_service(resources, workspace_id)`` returns an object implementing the core
:class:`~reporunner.knowledge.KnowledgeService` protocol. It only ever acts in the workspace it
was built for: a call naming another workspace is refused as not found. Ingestion runs inline
(the ``knowledge.ingest`` node waits for its result) but goes through the same path as uploads:
the original is stored, so a later re-embed can ingest it again, and progress is published.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from reporunner.knowledge import (
    DEFAULT_EMBEDDING_MODEL,
    IngestResult,
    KnowledgeBase,
    KnowledgeService,
    SearchRequest,
    SearchResult,
    StoreKnowledgeService,
    embedder_for,
    sniff,
)
from reporunner.knowledge import ingest_document as run_pipeline
from reporunner.nodes.errors import NotFoundError
from reporunner.platform.knowledge.events import progress_event, publish_event
from reporunner.platform.knowledge.reaper import heartbeat
from reporunner.platform.knowledge.service import (
    originals,
    parse_limits,
    resolve_embedder,
    store_document,
    store_of,
)
from reporunner.platform.knowledge.uploads import IncomingFile
from reporunner.platform.resources import Resources

__all__ = ["KNOWLEDGE", "WorkspaceKnowledgeService", "knowledge_provider", "knowledge_service"]

KNOWLEDGE = "knowledge"
"""Name of the service the ``knowledge.search``/``knowledge.ingest`` nodes ask for."""


class WorkspaceKnowledgeService:
    """:class:`KnowledgeService` bound to one workspace of the platform."""

    def __init__(self, resources: Resources, workspace_id: uuid.UUID) -> None:
        self.resources = resources
        self.workspace_id = workspace_id
        self._core = StoreKnowledgeService(store_of(resources))

    def _check(self, workspace_id: str) -> str:
        if str(workspace_id) != str(self.workspace_id):
            raise NotFoundError("that knowledge base does not exist in this workspace")
        return str(self.workspace_id)

    async def _base(self, knowledge_base: str, create: bool) -> KnowledgeBase:
        try:
            return await self._core.resolve(str(self.workspace_id), knowledge_base)
        except NotFoundError:
            if not create:
                raise
        model = self.resources.settings.embedding_model or DEFAULT_EMBEDDING_MODEL
        embedder = resolve_embedder(model, None)
        return await store_of(self.resources).create_base(
            self.workspace_id,
            knowledge_base,
            embedding_model=embedder.model_name,
            embedding_dim=embedder.dim,
        )

    async def search(
        self, workspace_id: str, knowledge_base: str, request: SearchRequest
    ) -> SearchResult:
        return await self._core.search(self._check(workspace_id), knowledge_base, request)

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
        ws = self._check(workspace_id)
        base = await self._base(knowledge_base, create)
        limits = parse_limits(self.resources.settings)
        kind = sniff(data, limits)
        incoming = IncomingFile(name, data, source, dict(metadata or {}))
        document, changed = await store_document(
            store_of(self.resources), originals(self.resources), base, incoming, kind
        )
        if not changed:
            return IngestResult(document.id, document.status, document.chunks_total)

        async def report(progress: Any) -> None:
            await publish_event(self.resources.redis, base.id, progress_event(base.id, progress))

        async with heartbeat(self.resources, [document.id]):  # the reaper leaves it alone
            return await run_pipeline(
                store_of(self.resources),
                ws,
                document.id,
                data,
                embedder_for(base.embedding_model, base.embedding_dim),
                limits=limits,
                progress=report,
            )


def knowledge_service(resources: Resources, workspace_id: uuid.UUID | str) -> KnowledgeService:
    """The ``knowledge`` service of one workspace (for ``ctx.service("knowledge")``)."""
    service: KnowledgeService = WorkspaceKnowledgeService(resources, uuid.UUID(str(workspace_id)))
    return service


def knowledge_provider(
    resources: Resources, workspace_id: uuid.UUID, run: object = None
) -> tuple[str, KnowledgeService]:
    """Agent service provider (``chats.providers.AGENT_PROVIDERS``): ``"knowledge"`` scoped to
    the workspace (``run`` is not needed)."""
    return KNOWLEDGE, knowledge_service(resources, workspace_id)
