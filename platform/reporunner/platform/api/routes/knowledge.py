"""``/knowledge-bases``: bases, document uploads and their ingestion state, originals, search.

Viewers read and search; editors create, upload, retry, delete and re-embed. Uploads are
parsed here as they stream in (per-file limit ``REPORUNNER_MAX_UPLOAD_BYTES``), so the route
turns off Litestar's whole-body limit and enforces its own. Originals stream out of the shared
store (:mod:`reporunner.platform.originals`) a piece at a time.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage, Stream
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.knowledge import DocumentRecord, DocumentTooLarge, SearchRequest
from reporunner.nodes.errors import Problem, ValidationFailed
from reporunner.platform.api.sse import closing_event_stream
from reporunner.platform.auth import Principal, requires
from reporunner.platform.knowledge import ingest, service
from reporunner.platform.knowledge.events import follow_base
from reporunner.platform.knowledge.schemas import (
    ChunkOut,
    ChunksOut,
    DocumentOut,
    KnowledgeBaseCreate,
    KnowledgeBaseOut,
    KnowledgeBaseUpdate,
    ReembedIn,
    SearchOut,
    UploadAccepted,
)
from reporunner.platform.knowledge.uploads import (
    IncomingFile,
    UploadLimits,
    files_from_json,
    files_from_multipart,
    read_json_body,
)
from reporunner.platform.resources import Resources

__all__ = ["KnowledgeBaseController", "original_headers", "route_handlers"]

PDF = "application/pdf"
MAX_CHUNKS_PAGE = 500


def original_headers(name: str, *, inline: bool = False) -> dict[str, str]:
    """Headers of a served original: a download, never sniffed, never a page of ours.

    Originals are whatever users uploaded (an SVG or HTML file may carry scripts; an SVG is
    even stored as text/plain), so every one is an attachment, the browser may not guess
    another type, and the sandbox CSP keeps it from running anything with our origin. Only a
    PDF (its type sniffed at upload and its bytes starting ``%PDF-``) may be ``inline``: it
    opens in the browser's own viewer (a citation's ``#page=N``), still sandboxed and nosniff.
    """
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return {
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


async def _after(first: bytes, rest: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """``first``, then the rest of the stream it was read from."""
    if first:
        yield first
    async for piece in rest:
        yield piece


async def _incoming_files(
    request: Request[Any, Any, Any], limits: UploadLimits
) -> list[IncomingFile]:
    if request.content_length is not None and request.content_length > limits.max_request_bytes:
        raise DocumentTooLarge(
            f"the upload is {request.content_length} bytes; the limit is {limits.max_files} "
            f"files of at most {limits.max_bytes} bytes each",
            limit=limits.max_bytes,
        )
    media_type, options = request.content_type
    if media_type == "multipart/form-data":
        boundary = options.get("boundary")
        if not boundary:
            raise ValidationFailed("multipart upload without a boundary in its Content-Type")
        return await files_from_multipart(request.stream(), boundary, limits)
    if media_type == "application/json":
        return await files_from_json(await read_json_body(request.stream(), limits), limits)
    raise ValidationFailed(
        "send files as multipart/form-data, or JSON {url | text, name?, metadata?}; "
        f"got Content-Type '{media_type or 'none'}'"
    )


async def _event_stream(
    resources: Resources, workspace_id: uuid.UUID, kb_id: uuid.UUID, until_settled: bool
) -> AsyncGenerator[ServerSentEventMessage, None]:
    async def snapshot() -> list[DocumentRecord]:
        return await service.documents_now(resources, workspace_id, kb_id)

    followed = follow_base(resources.redis, kb_id, snapshot, until_settled=until_settled)
    async with contextlib.aclosing(followed) as events:
        async for event in events:
            if event is None:
                yield ServerSentEventMessage(comment="keep-alive")
            else:
                yield ServerSentEventMessage(data=json.dumps(event), event=str(event["type"]))


class KnowledgeBaseController(Controller):
    path = "/knowledge-bases"
    tags = ["knowledge"]  # noqa: RUF012

    @post("/", guards=[requires("editor")], summary="Create a knowledge base")
    async def create(
        self,
        data: JSONBody[KnowledgeBaseCreate],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> KnowledgeBaseOut:
        base = await service.create_base(resources, principal.workspace_id, data)
        return KnowledgeBaseOut.of(base)

    @get("/", summary="List knowledge bases")
    async def list_(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[KnowledgeBaseOut]:
        bases = await service.list_bases(transaction, principal.workspace_id)
        return [KnowledgeBaseOut.of(b) for b in bases]

    @get("/{kb_id:uuid}", summary="Get a knowledge base")
    async def get_one(
        self,
        kb_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> KnowledgeBaseOut:
        base = await service.get_base(transaction, principal.workspace_id, kb_id)
        return KnowledgeBaseOut.of(base)

    @patch("/{kb_id:uuid}", guards=[requires("editor")], summary="Rename or re-describe")
    async def update(
        self,
        kb_id: FromPath[uuid.UUID],
        data: JSONBody[KnowledgeBaseUpdate],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> KnowledgeBaseOut:
        base = await service.update_base(resources, principal.workspace_id, kb_id, data)
        return KnowledgeBaseOut.of(base)

    @delete("/{kb_id:uuid}", guards=[requires("editor")], summary="Delete a base and its data")
    async def delete_(
        self,
        kb_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> None:
        await service.delete_base(resources, principal.workspace_id, kb_id)

    @post(
        "/{kb_id:uuid}/reembed",
        guards=[requires("editor")],
        status_code=202,
        summary="Re-embed every document with a new model (background job)",
    )
    async def reembed(
        self,
        kb_id: FromPath[uuid.UUID],
        data: JSONBody[ReembedIn],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> KnowledgeBaseOut:
        base = await ingest.start_reembed(resources, principal.workspace_id, kb_id, data)
        return KnowledgeBaseOut.of(base)

    @post(
        "/{kb_id:uuid}/documents",
        guards=[requires("editor")],
        status_code=202,
        request_max_body_size=None,
        summary="Upload documents (multipart files, or JSON {url | text}); ingested in the "
        "background",
    )
    async def upload(
        self,
        kb_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> UploadAccepted:
        settings = resources.settings
        limits = UploadLimits(settings.max_upload_bytes, settings.max_upload_files)
        await service.store_of(resources).get_base(principal.workspace_id, kb_id)  # 404 first
        files = await _incoming_files(request, limits)
        try:
            documents = await service.upload_documents(
                resources, principal.workspace_id, kb_id, files
            )
        finally:
            for incoming in files:
                incoming.close()
        return UploadAccepted(documents=documents)

    @get("/{kb_id:uuid}/documents", summary="List documents and their ingestion state")
    async def documents(
        self,
        kb_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> list[DocumentOut]:
        docs = await service.list_documents(transaction, principal.workspace_id, kb_id)
        return [DocumentOut.of(d) for d in docs]

    @get("/{kb_id:uuid}/documents/{doc_id:uuid}", summary="Get a document and its progress")
    async def document(
        self,
        kb_id: FromPath[uuid.UUID],
        doc_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> DocumentOut:
        doc = await service.get_document(transaction, principal.workspace_id, kb_id, doc_id)
        return DocumentOut.of(doc)

    @delete(
        "/{kb_id:uuid}/documents/{doc_id:uuid}",
        guards=[requires("editor")],
        summary="Delete a document and its chunks",
    )
    async def delete_document(
        self,
        kb_id: FromPath[uuid.UUID],
        doc_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> None:
        await service.delete_document(resources, principal.workspace_id, kb_id, doc_id)

    @post(
        "/{kb_id:uuid}/documents/{doc_id:uuid}/retry",
        guards=[requires("editor")],
        status_code=202,
        summary="Ingest a failed document again from its stored original",
    )
    async def retry_document(
        self,
        kb_id: FromPath[uuid.UUID],
        doc_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> DocumentOut:
        doc = await service.retry_document(resources, principal.workspace_id, kb_id, doc_id)
        return DocumentOut.of(doc)

    @get("/{kb_id:uuid}/documents/{doc_id:uuid}/original", summary="Download the original")
    async def original(
        self,
        kb_id: FromPath[uuid.UUID],
        doc_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        inline: FromQuery[bool] = False,
    ) -> Stream:
        """The uploaded file as an attachment, streamed from the originals store;
        ``inline=true`` opens a PDF in the browser's viewer instead (a citation links it with
        ``#page=N``); any other type is refused."""
        doc, stored, chunks = await service.stream_original(
            resources, principal.workspace_id, kb_id, doc_id
        )
        if inline:
            first = await anext(aiter(chunks), b"")
            if doc.mime_type != PDF or not first.startswith(b"%PDF-"):
                closing = getattr(chunks, "aclose", None)
                if closing is not None:
                    await closing()
                raise ValidationFailed(
                    f"inline: only a PDF original opens in the browser; '{doc.name}' is "
                    f"{doc.mime_type}: download it, or read its text in the document view",
                    [Problem("inline", "not_pdf", "only application/pdf opens inline")],
                )
            chunks = _after(first, chunks)
        media_type = PDF if inline else doc.mime_type
        headers = {
            **original_headers(doc.name, inline=inline),
            "Content-Length": str(stored.size),
        }
        return Stream(chunks, media_type=media_type, headers=headers)

    @get(
        "/{kb_id:uuid}/documents/{doc_id:uuid}/chunks",
        summary="A document's chunks in reading order (text, page, headings)",
    )
    async def chunks(
        self,
        kb_id: FromPath[uuid.UUID],
        doc_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        offset: FromQuery[int] = 0,
        limit: FromQuery[int] = 200,
    ) -> ChunksOut:
        """The extracted text a citation points at: each chunk with its page and heading path,
        ``limit`` (1-500) from ``offset``; the web app's document view shows them as text."""
        if offset < 0:
            raise ValidationFailed(
                "offset: must be 0 or more", [Problem("offset", "minimum", "at least 0")]
            )
        if not 1 <= limit <= MAX_CHUNKS_PAGE:
            raise ValidationFailed(
                f"limit: must be 1 to {MAX_CHUNKS_PAGE}",
                [Problem("limit", "range", f"1 to {MAX_CHUNKS_PAGE}")],
            )
        doc, chunks, total = await service.document_chunks(
            resources, principal.workspace_id, kb_id, doc_id, offset=offset, limit=limit
        )
        following = offset + len(chunks)
        return ChunksOut(
            document=DocumentOut.of(doc),
            chunks=[ChunkOut.of(c) for c in chunks],
            total=total,
            next_offset=following if following < total else None,
        )

    @get(
        "/{kb_id:uuid}/events",
        summary="Follow ingestion progress (Server-Sent Events): each document's state, then "
        "every change",
    )
    async def events(
        self,
        kb_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        until_settled: FromQuery[bool] = False,
    ) -> ServerSentEvent:
        await service.store_of(resources).get_base(principal.workspace_id, kb_id)  # 404 first
        return closing_event_stream(
            _event_stream(resources, principal.workspace_id, kb_id, until_settled)
        )

    @post("/{kb_id:uuid}/search", status_code=200, summary="Search with citations")
    async def search(
        self,
        kb_id: FromPath[uuid.UUID],
        data: JSONBody[SearchRequest],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> SearchOut:
        result = await service.search(resources, principal.workspace_id, kb_id, data)
        return SearchOut.of(result)


route_handlers = [KnowledgeBaseController]
