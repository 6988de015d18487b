"""Workflow nodes ``knowledge.search`` and ``knowledge.ingest``.

Registered through the ``reporunner.nodes`` entry point ``knowledge =
"reporunner.knowledge.nodes"`` (every Node subclass defined here). Both reach the knowledge base
through the engine's ``knowledge`` service (:class:`~reporunner.knowledge.service.
KnowledgeService`), scoped to the execution's workspace.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.knowledge.errors import DocumentError
from reporunner.knowledge.models import SearchHit, SearchMode, SearchRequest
from reporunner.knowledge.service import KnowledgeService
from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.errors import NodeError, NotFoundError, ValidationFailed

__all__ = [
    "KnowledgeIngest",
    "KnowledgeIngestParams",
    "KnowledgeSearch",
    "KnowledgeSearchParams",
    "format_context",
]


def _service(ctx: NodeContext) -> KnowledgeService:
    service = ctx.service("knowledge")
    if not isinstance(service, KnowledgeService):
        raise NodeError("the engine's 'knowledge' service does not implement KnowledgeService")
    return service


def format_context(hits: tuple[SearchHit, ...]) -> str:
    """Hits as numbered passages with their citation, ready to paste into an LLM prompt."""
    blocks = []
    for number, hit in enumerate(hits, start=1):
        where = [hit.document_name]
        if hit.page is not None:
            where.append(f"page {hit.page}")
        if hit.heading_path:
            where.append(" > ".join(hit.heading_path))
        blocks.append(f"[{number}] ({', '.join(where)})\n{hit.text}")
    return "\n\n".join(blocks)


class KnowledgeSearchParams(BaseModel):
    """Params of ``knowledge.search``."""

    model_config = ConfigDict(extra="forbid")

    knowledge_base: str = Field(description="Knowledge base name or id (in this workspace).")
    query: str = Field(min_length=1, max_length=4000, description="What to look for.")
    top_k: int = Field(default=5, ge=1, le=100, description="How many chunks to return.")
    mode: SearchMode = Field(
        default="hybrid", description="vector, keyword or hybrid (both, rank-fused)."
    )
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="Conditions on chunk metadata or document fields ({field: value}, "
        "{field: {in: [...]}}, {field: {gte: x, lt: y}}).",
    )
    rerank: bool = Field(default=False, description="Re-score with a cross-encoder if installed.")


class KnowledgeSearch(Node[KnowledgeSearchParams]):
    """Search a knowledge base once per input item."""

    type = "knowledge.search"
    category = Category.KNOWLEDGE
    display_name = "Knowledge search"
    description = (
        "Searches a knowledge base of the workspace (vector, keyword or hybrid) once per input "
        "item and outputs one item {query, results: [{text, score, document_name, page, "
        "heading_path, char_start, char_end, ranks, metadata}], context, notes}; 'context' is "
        "the results as numbered passages with citations, ready for an LLM prompt."
    )
    Params = KnowledgeSearchParams
    mode = "each"
    example: ClassVar[dict[str, Any]] = {
        "knowledge_base": "handbook",
        "query": "{{ trigger.message }}",
        "top_k": 5,
    }

    async def run(
        self, ctx: NodeContext, params: KnowledgeSearchParams, inputs: NodeInputs
    ) -> NodeOutput:
        request = SearchRequest(
            query=params.query,
            top_k=params.top_k,
            mode=params.mode,
            filters=params.filters,
            rerank=params.rerank,
        )
        try:
            result = await _service(ctx).search(ctx.workspace_id, params.knowledge_base, request)
        except (NotFoundError, ValidationFailed) as err:
            raise NodeError(f"knowledge.search: {err.detail}") from err
        return NodeOutput.main(
            [
                {
                    "query": params.query,
                    "results": [hit.as_item() for hit in result.hits],
                    "context": format_context(result.hits),
                    "notes": list(result.notes),
                }
            ]
        )


class KnowledgeIngestParams(BaseModel):
    """Params of ``knowledge.ingest``."""

    model_config = ConfigDict(extra="forbid")

    knowledge_base: str = Field(description="Knowledge base name or id (in this workspace).")
    name: str = Field(
        min_length=1,
        max_length=300,
        description="Document name; adding the same name again replaces the document (only "
        "changed chunks are re-embedded; identical content is a no-op).",
    )
    content: str | None = Field(
        default=None, description="Document text (txt, Markdown, HTML, CSV or JSON)."
    )
    content_base64: str | None = Field(
        default=None, description="The file's bytes, base64-encoded (PDF, .docx...)."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Metadata stored on every chunk (searchable filters)."
    )
    create: bool = Field(
        default=False,
        description="Create the knowledge base (default embedding model) when it is missing.",
    )


class KnowledgeIngest(Node[KnowledgeIngestParams]):
    """Add a document to a knowledge base once per input item."""

    type = "knowledge.ingest"
    category = Category.KNOWLEDGE
    display_name = "Knowledge ingest"
    description = (
        "Adds or updates one document in a knowledge base per input item (text in 'content' or "
        "a file in 'content_base64'; the format is detected from the content), then parses, "
        "chunks, embeds and indexes it. Outputs {document_id, name, status, chunks_total, "
        "chunks_embedded, chunks_reused, error} on 'main', or on 'error' when the document "
        "cannot be ingested (unsupported type, corrupt file...)."
    )
    Params = KnowledgeIngestParams
    outputs = (
        Port("main", "Ingested documents."),
        Port("error", "Documents that could not be ingested, with the reason."),
    )
    mode = "each"
    example: ClassVar[dict[str, Any]] = {
        "knowledge_base": "handbook",
        "name": "{{ item.title }}.md",
        "content": "{{ item.body }}",
    }

    async def run(
        self, ctx: NodeContext, params: KnowledgeIngestParams, inputs: NodeInputs
    ) -> NodeOutput:
        if (params.content is None) == (params.content_base64 is None):
            raise NodeError("knowledge.ingest: give exactly one of 'content' or 'content_base64'")
        if params.content is not None:
            data = params.content.encode("utf-8")
        else:
            try:
                data = base64.b64decode(params.content_base64 or "", validate=True)
            except binascii.Error as err:
                raise NodeError(f"knowledge.ingest: 'content_base64' is not base64: {err}") from err
        try:
            result = await _service(ctx).ingest(
                ctx.workspace_id,
                params.knowledge_base,
                params.name,
                data,
                source="text" if params.content is not None else "upload",
                metadata=params.metadata,
                create=params.create,
            )
        except NotFoundError as err:
            raise NodeError(f"knowledge.ingest: {err.detail}") from err
        except DocumentError as err:
            return NodeOutput.to(
                "error", [{"name": params.name, "status": "failed", "error": err.detail}]
            )
        item = {
            "document_id": str(result.document_id),
            "name": params.name,
            "status": result.status,
            "chunks_total": result.chunks_total,
            "chunks_embedded": result.chunks_embedded,
            "chunks_reused": result.chunks_reused,
            "error": result.error,
        }
        return NodeOutput.to("error" if result.status == "failed" else "main", [item])
