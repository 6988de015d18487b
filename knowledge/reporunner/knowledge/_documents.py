"""Documents and their chunks (the second layer of the knowledge store).

Chunks are written per document in one transaction (old ones deleted, new ones inserted), so a
search never sees half of an edit. Embeddings are keyed by chunk content hash: before embedding,
the pipeline asks :meth:`DocumentOps.reusable_embeddings` for vectors the base already holds for
the same text, so re-ingesting an edited file embeds only the chunks that changed.

The base's keyword statistics move in the same transaction: chunk count, total lexemes (distinct
terms per chunk) and total text length in characters (BM25's document length) in
``knowledge_bases.settings['_stats']``, and each term's document frequency in
``knowledge_terms`` (migration ``0002_knowledge_terms``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from reporunner.knowledge._bases import (
    DOC_COLUMNS,
    TS_CONFIG,
    BaseOps,
    as_uuid,
    safe_document_name,
    vector_literal,
)
from reporunner.knowledge.chunking import Chunk
from reporunner.knowledge.errors import EmbeddingError
from reporunner.knowledge.models import (
    DocumentChunk,
    DocumentRecord,
    DocumentStatus,
    KnowledgeBase,
)
from reporunner.nodes.errors import NotFoundError

__all__ = ["DocumentOps", "read_document", "read_documents"]

_INSERT_CHUNK = text(
    "INSERT INTO chunks (workspace_id, knowledge_base_id, document_id, ordinal, text, "
    "content_hash, token_count, page, heading_path, char_start, char_end, metadata, embedding, "
    "tsv) VALUES (:ws, :kb, :doc, :ordinal, :text, :hash, :tokens, :page, "
    "CAST(:heading AS jsonb), :start, :end, CAST(:metadata AS jsonb), CAST(:embedding AS vector), "
    f"to_tsvector('{TS_CONFIG}', :tsv_text))"
)
_DOC_STATS = text(
    "SELECT count(*), coalesce(sum(length(c.tsv)), 0), "
    "coalesce(sum(c.char_end - c.char_start), 0)"
    " FROM chunks c WHERE c.workspace_id = :ws AND c.document_id = :doc"
)
_TERMS_DOWN = text(
    "UPDATE knowledge_terms t SET df = t.df - s.n FROM (SELECT u.lexeme, count(*) AS n "
    "FROM chunks c, unnest(c.tsv) u WHERE c.workspace_id = :ws AND c.document_id = :doc "
    "GROUP BY u.lexeme) s WHERE t.knowledge_base_id = :kb AND t.term = s.lexeme"
)
_TERMS_UP = text(
    "INSERT INTO knowledge_terms (knowledge_base_id, workspace_id, term, df) "
    "SELECT :kb, :ws, u.lexeme, count(*) FROM chunks c, unnest(c.tsv) u "
    "WHERE c.workspace_id = :ws AND c.document_id = :doc GROUP BY u.lexeme ORDER BY u.lexeme "
    "ON CONFLICT (knowledge_base_id, term) DO UPDATE SET df = knowledge_terms.df + EXCLUDED.df"
)
_LOCK_BASE = text("SELECT 1 FROM knowledge_bases WHERE workspace_id = :ws AND id = :kb FOR UPDATE")
_MOVE_STATS = text(
    "UPDATE knowledge_bases SET settings = jsonb_set(settings, '{_stats}', jsonb_build_object("
    "'chunks', coalesce((settings #>> '{_stats,chunks}')::bigint, 0) + :chunks, "
    "'lexemes', coalesce((settings #>> '{_stats,lexemes}')::bigint, 0) + :lexemes, "
    # Text length in characters (BM25's document length); null in a base whose chunks
    # predate it, so its sum is never partial (search then falls back to lexemes).
    "'chars', CASE WHEN coalesce((settings #>> '{_stats,chunks}')::bigint, 0) = 0 THEN 0 "
    "ELSE (settings #>> '{_stats,chars}')::bigint END + :chars)), "
    "updated_at = now() WHERE workspace_id = :ws AND id = :kb"
)


async def read_document(
    conn: AsyncConnection, workspace_id: uuid.UUID | str, document_id: uuid.UUID | str
) -> DocumentRecord:
    """One document, read over the caller's connection (its transaction).

    Raises:
        NotFoundError: no such document in this workspace.
    """
    row = (
        await conn.execute(
            text(f"SELECT {DOC_COLUMNS} FROM documents WHERE workspace_id = :ws AND id = :id"),
            {"ws": as_uuid(workspace_id, "workspace"), "id": as_uuid(document_id, "document")},
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"document '{document_id}' does not exist in this workspace")
    return DocumentRecord(*row)


async def read_documents(
    conn: AsyncConnection, workspace_id: uuid.UUID | str, base_id: uuid.UUID | str
) -> list[DocumentRecord]:
    """The base's documents, by name, over the caller's connection."""
    rows = await conn.execute(
        text(
            f"SELECT {DOC_COLUMNS} FROM documents WHERE workspace_id = :ws AND "
            "knowledge_base_id = :kb ORDER BY name"
        ),
        {"ws": as_uuid(workspace_id, "workspace"), "kb": as_uuid(base_id, "knowledge base")},
    )
    return [DocumentRecord(*row) for row in rows]


class DocumentOps(BaseOps):
    """Register documents, track their ingestion, and write or delete their chunks."""

    async def add_document(
        self,
        workspace_id: uuid.UUID | str,
        base_id: uuid.UUID | str,
        name: str,
        *,
        content_hash: str,
        size_bytes: int,
        source: str = "upload",
        mime_type: str = "application/octet-stream",
        storage_path: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> tuple[DocumentRecord, bool]:
        """Register a document (queued) unless the base already holds this exact content.

        The name is made safe (no directories). A document of the same name with the same
        content hash is left alone (an idempotent re-upload); with another hash it is reset to
        ``queued`` so the pipeline re-ingests it.

        Returns:
            The document and whether it needs ingesting (False: nothing changed).
        """
        base = await self.get_base(workspace_id, base_id)
        name = safe_document_name(name)
        params = {
            "ws": base.workspace_id,
            "kb": base.id,
            "name": name,
            "hash": content_hash,
            "size": size_bytes,
            "source": source,
            "mime": mime_type,
            "path": storage_path,
            "metadata": json.dumps(dict(metadata or {})),
        }
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO documents (workspace_id, knowledge_base_id, name, source, "
                    "mime_type, size_bytes, content_hash, storage_path, status, chunks_total, "
                    "chunks_done, metadata) VALUES (:ws, :kb, :name, :source, :mime, :size, "
                    "'', :path, 'queued', 0, 0, CAST(:metadata AS jsonb)) "
                    "ON CONFLICT (knowledge_base_id, name) DO NOTHING"
                ),
                params,
            )
            row = (
                await conn.execute(
                    text(
                        f"SELECT {DOC_COLUMNS} FROM documents WHERE workspace_id = :ws AND "
                        "knowledge_base_id = :kb AND name = :name FOR UPDATE"
                    ),
                    params,
                )
            ).one()
            current = DocumentRecord(*row)
            if current.content_hash == content_hash and current.status != "failed":
                return current, False
            row = (
                await conn.execute(
                    text(
                        "UPDATE documents SET content_hash = :hash, size_bytes = :size, "
                        "source = :source, mime_type = :mime, storage_path = :path, "
                        "metadata = CAST(:metadata AS jsonb), status = 'queued', error = NULL, "
                        "chunks_done = 0, updated_at = now() WHERE id = :id "
                        f"RETURNING {DOC_COLUMNS}"
                    ),
                    {**params, "id": current.id},
                )
            ).one()
            return DocumentRecord(*row), True

    async def get_document(
        self, workspace_id: uuid.UUID | str, document_id: uuid.UUID | str
    ) -> DocumentRecord:
        """Raises: NotFoundError: no such document in this workspace."""
        async with self.engine.connect() as conn:
            return await read_document(conn, workspace_id, document_id)

    async def list_documents(
        self, workspace_id: uuid.UUID | str, base_id: uuid.UUID | str
    ) -> list[DocumentRecord]:
        """The base's documents, by name."""
        async with self.engine.connect() as conn:
            return await read_documents(conn, workspace_id, base_id)

    async def list_chunks(
        self,
        workspace_id: uuid.UUID | str,
        document_id: uuid.UUID | str,
        *,
        offset: int = 0,
        limit: int = 200,
    ) -> tuple[list[DocumentChunk], int]:
        """The document's chunks in reading order (``ordinal``), a page of them, and how many
        it has in all. The caller checks that the document is in its workspace and base."""
        ws = as_uuid(workspace_id, "workspace")
        doc = as_uuid(document_id, "document")
        async with self.engine.connect() as conn:
            total = await conn.scalar(
                text("SELECT count(*) FROM chunks WHERE workspace_id = :ws AND document_id = :doc"),
                {"ws": ws, "doc": doc},
            )
            rows = await conn.execute(
                text(
                    "SELECT id, ordinal, text, page, heading_path, char_start, char_end "
                    "FROM chunks WHERE workspace_id = :ws AND document_id = :doc "
                    "ORDER BY ordinal, id OFFSET :offset LIMIT :limit"
                ),
                {"ws": ws, "doc": doc, "offset": offset, "limit": limit},
            )
            chunks = [
                DocumentChunk(
                    id=row.id,
                    ordinal=row.ordinal,
                    text=row.text,
                    page=row.page,
                    heading_path=tuple(row.heading_path or ()),
                    char_start=row.char_start,
                    char_end=row.char_end,
                )
                for row in rows
            ]
        return chunks, int(total or 0)

    async def set_status(
        self,
        workspace_id: uuid.UUID | str,
        document_id: uuid.UUID | str,
        status: DocumentStatus,
        *,
        error: str | None = None,
        chunks_total: int | None = None,
        chunks_done: int | None = None,
    ) -> None:
        """Record ingestion progress (``error`` is cleared unless given)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE documents SET status = :status, error = :error, "
                    "chunks_total = coalesce(:total, chunks_total), "
                    "chunks_done = coalesce(:done, chunks_done), updated_at = now() "
                    "WHERE workspace_id = :ws AND id = :id"
                ),
                {
                    "ws": as_uuid(workspace_id, "workspace"),
                    "id": as_uuid(document_id, "document"),
                    "status": status,
                    "error": error,
                    "total": chunks_total,
                    "done": chunks_done,
                },
            )

    async def set_progress(
        self,
        workspace_id: uuid.UUID | str,
        status: DocumentStatus,
        progress: Sequence[tuple[uuid.UUID, int, int]],
    ) -> None:
        """Set ``status`` and ``(document id, chunks_total, chunks_done)`` of many documents in
        one statement (clears their errors)."""
        if not progress:
            return
        ids, totals, dones = zip(*progress, strict=True)
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE documents d SET status = :status, error = NULL, chunks_total = "
                    "v.total, chunks_done = v.done, updated_at = now() FROM unnest("
                    "CAST(:ids AS uuid[]), CAST(:totals AS integer[]), CAST(:dones AS integer[]))"
                    " AS v(id, total, done) WHERE d.workspace_id = :ws AND d.id = v.id"
                ),
                {
                    "ws": as_uuid(workspace_id, "workspace"),
                    "status": status,
                    "ids": list(ids),
                    "totals": list(totals),
                    "dones": list(dones),
                },
            )

    async def delete_document(
        self, workspace_id: uuid.UUID | str, document_id: uuid.UUID | str
    ) -> None:
        """Delete a document and its chunks in one transaction.

        Raises:
            NotFoundError: no such document in this workspace.
        """
        document = await self.get_document(workspace_id, document_id)
        async with self.engine.begin() as conn:
            ws, kb = document.workspace_id, document.knowledge_base_id
            await conn.execute(_LOCK_BASE, {"ws": ws, "kb": kb})
            await self._retire_chunks(conn, ws, kb, document.id)
            await conn.execute(
                text("DELETE FROM documents WHERE workspace_id = :ws AND id = :id"),
                {"ws": document.workspace_id, "id": document.id},
            )

    async def live_documents(
        self, workspace_id: uuid.UUID | str, content: Mapping[uuid.UUID, str]
    ) -> set[uuid.UUID]:
        """Which of these documents (id -> content hash) still exist with that content; the
        others were deleted or replaced, and their ingestion should stop."""
        if not content:
            return set()
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT id, content_hash FROM documents "
                    "WHERE workspace_id = :ws AND id = ANY(:ids)"
                ),
                {"ws": as_uuid(workspace_id), "ids": list(content)},
            )
            return {row_id for row_id, digest in rows if content.get(row_id) == digest}

    async def chunks_in_base(self, base: KnowledgeBase, excluding: Sequence[uuid.UUID]) -> int:
        """Chunks the base holds outside the documents ``excluding`` (being re-ingested)."""
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                text(
                    "SELECT count(*) FROM chunks WHERE workspace_id = :ws AND "
                    "knowledge_base_id = :kb AND NOT (document_id = ANY(:ids))"
                ),
                {"ws": base.workspace_id, "kb": base.id, "ids": list(excluding)},
            )
        return int(count or 0)

    async def reusable_embeddings(
        self, base: KnowledgeBase, hashes: Sequence[str]
    ) -> dict[str, list[float]]:
        """Vectors the base already holds for these chunk content hashes."""
        if not hashes:
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT DISTINCT ON (content_hash) content_hash, embedding::text FROM chunks "
                    "WHERE workspace_id = :ws AND knowledge_base_id = :kb AND "
                    "content_hash = ANY(:hashes) AND embedding IS NOT NULL"
                ),
                {"ws": base.workspace_id, "kb": base.id, "hashes": list(set(hashes))},
            )
            return {h: json.loads(v) for h, v in rows}

    async def _retire_chunks(
        self, conn: AsyncConnection, ws: uuid.UUID, kb: uuid.UUID, doc: uuid.UUID
    ) -> None:
        count, lexemes, chars = (await conn.execute(_DOC_STATS, {"ws": ws, "doc": doc})).one()
        if count:
            await conn.execute(_TERMS_DOWN, {"ws": ws, "kb": kb, "doc": doc})
        await conn.execute(
            text("DELETE FROM chunks WHERE workspace_id = :ws AND document_id = :doc"),
            {"ws": ws, "doc": doc},
        )
        if count:
            await conn.execute(
                _MOVE_STATS,
                {
                    "ws": ws,
                    "kb": kb,
                    "chunks": -int(count),
                    "lexemes": -int(lexemes),
                    "chars": -int(chars),
                },
            )

    async def replace_chunks(
        self,
        base: KnowledgeBase,
        document_id: uuid.UUID,
        chunks: Sequence[Chunk],
        embeddings: Sequence[Sequence[float]],
        *,
        metadata: Mapping[str, Any] | None = None,
        status: DocumentStatus | None = None,
    ) -> None:
        """Swap a document's chunks for ``chunks`` in one transaction.

        Args:
            base: The document's knowledge base.
            document_id: The document.
            chunks: New chunks, in order.
            embeddings: One vector of ``base.embedding_dim`` per chunk.
            metadata: Document metadata copied under each chunk's own metadata (so filters on
                it need no join); chunk keys win.
            status: Set the document's status in the same transaction (e.g. ``ready``).
        """
        if len(embeddings) != len(chunks) or any(len(e) != base.embedding_dim for e in embeddings):
            raise EmbeddingError(
                f"expected {len(chunks)} vectors of dimension {base.embedding_dim} for the "
                f"chunks of document {document_id}"
            )
        ws, kb = base.workspace_id, base.id
        rows = [
            {
                "ws": ws,
                "kb": kb,
                "doc": document_id,
                "ordinal": chunk.ordinal,
                "text": chunk.text,
                "hash": chunk.content_hash,
                "tokens": chunk.token_count,
                "page": chunk.page,
                "heading": json.dumps(list(chunk.heading_path)),
                "start": chunk.char_start,
                "end": chunk.char_end,
                "metadata": json.dumps({**dict(metadata or {}), **dict(chunk.metadata)}),
                "embedding": vector_literal(vector),
                "tsv_text": " ".join([*chunk.heading_path, chunk.text]),
            }
            for chunk, vector in zip(chunks, embeddings, strict=True)
        ]
        async with self.engine.begin() as conn:
            owner = await conn.scalar(
                text("SELECT 1 FROM documents WHERE workspace_id = :ws AND id = :doc FOR UPDATE"),
                {"ws": ws, "doc": document_id},
            )
            if owner is None:
                raise NotFoundError(f"document '{document_id}' does not exist in this workspace")
            # One writer per base at a time: the term and length statistics move together and
            # concurrent upserts of the same terms cannot deadlock.
            await conn.execute(_LOCK_BASE, {"ws": ws, "kb": kb})
            await self._retire_chunks(conn, ws, kb, document_id)
            if rows:
                await conn.execute(_INSERT_CHUNK, rows)
                await conn.execute(_TERMS_UP, {"ws": ws, "kb": kb, "doc": document_id})
                count, lexemes, chars = (
                    await conn.execute(_DOC_STATS, {"ws": ws, "doc": document_id})
                ).one()
                await conn.execute(
                    _MOVE_STATS,
                    {
                        "ws": ws,
                        "kb": kb,
                        "chunks": int(count),
                        "lexemes": int(lexemes),
                        "chars": int(chars),
                    },
                )
            await conn.execute(
                text(
                    "UPDATE documents SET chunks_total = :n, chunks_done = :n, updated_at = now(), "
                    "status = coalesce(:status, status) WHERE workspace_id = :ws AND id = :doc"
                ),
                {"ws": ws, "doc": document_id, "n": len(rows), "status": status},
            )
