"""Knowledge bases in Postgres: the first layer of the knowledge store.

Each knowledge base gets a partial HNSW index over its chunks, on the cast of ``embedding`` to
the base's dimension (the column itself has no fixed dimension so bases can use different
models), created with the base and dropped with it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reporunner.knowledge.models import DocumentRecord, KnowledgeBase
from reporunner.knowledge.tables import documents, knowledge_bases
from reporunner.nodes.errors import ConflictError, NotFoundError, parse_id

__all__ = [
    "BASE_COLUMNS",
    "DOC_COLUMNS",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_M",
    "TS_CONFIG",
    "BaseOps",
    "as_uuid",
    "hnsw_build_params",
    "hnsw_index_name",
    "read_base",
    "read_bases",
    "safe_document_name",
    "vector_literal",
]

TS_CONFIG = "english"
"""Text search configuration of ``chunks.tsv`` (stemming + English stopwords)."""

HNSW_M = 16
"""Links per node of the HNSW graph (pgvector's default; 24 measured no better on our 100k-chunk
bench, see BENCHMARKS.md)."""
HNSW_EF_CONSTRUCTION = 256
"""Candidate list size while building the graph (pgvector's default is 64). At 100k chunks 256
lifts recall@10 at ``ef_search`` 400 from 0.92-0.95 (128) to 0.97 for 2-3x the build time
(about a minute on 2 cores); BENCHMARKS.md."""

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def _columns(table: Table, record: type) -> str:
    """The ``table`` columns that fill ``record`` (a dataclass built positionally from a row),
    as a SELECT list. A field the table lacks fails here, at import, not in a query."""
    return ", ".join(table.c[f.name].name for f in dataclasses.fields(record))


BASE_COLUMNS = _columns(knowledge_bases, KnowledgeBase)
"""``knowledge_bases`` columns in :class:`KnowledgeBase` field order."""
DOC_COLUMNS = _columns(documents, DocumentRecord)
"""``documents`` columns in :class:`DocumentRecord` field order."""


as_uuid = parse_id
"""The one id parser (:func:`reporunner.nodes.errors.parse_id`), as these modules call it."""


def hnsw_index_name(base_id: uuid.UUID) -> str:
    """Name of a base's partial HNSW index."""
    return f"ix_chunks_hnsw_{base_id.hex}"


def hnsw_build_params(settings: Mapping[str, Any]) -> tuple[int, int]:
    """``(m, ef_construction)`` of a base's index: its settings ``hnsw_m`` and
    ``hnsw_ef_construction`` when given (clamped to pgvector's limits), else the defaults."""
    m = int(settings.get("hnsw_m") or HNSW_M)
    ef = int(settings.get("hnsw_ef_construction") or HNSW_EF_CONSTRUCTION)
    m = min(max(m, 2), 100)
    return m, min(max(ef, 2 * m, 4), 1000)


def safe_document_name(name: str) -> str:
    """The file name without any directory part or control characters (``../../etc/passwd``
    becomes ``passwd``), at most 300 characters; ``document`` when nothing is left."""
    base = _UNSAFE.sub("", name.replace("\\", "/")).split("/")[-1].strip()
    if base in ("", ".", ".."):
        base = "document"
    return base[:300]


def vector_literal(values: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(v)) for v in values) + "]"


async def read_base(
    conn: AsyncConnection, workspace_id: uuid.UUID | str, base_id: uuid.UUID | str
) -> KnowledgeBase:
    """One base, read over the caller's connection (its transaction).

    Raises:
        NotFoundError: no such base in this workspace.
    """
    ws, kb = as_uuid(workspace_id, "workspace"), as_uuid(base_id, "knowledge base")
    row = (
        await conn.execute(
            text(
                f"SELECT {BASE_COLUMNS} FROM knowledge_bases WHERE workspace_id = :ws AND id = :id"
            ),
            {"ws": ws, "id": kb},
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"knowledge base '{base_id}' does not exist in this workspace")
    return KnowledgeBase(*row)


async def read_bases(conn: AsyncConnection, workspace_id: uuid.UUID | str) -> list[KnowledgeBase]:
    """Every base of the workspace, by name, over the caller's connection."""
    rows = await conn.execute(
        text(f"SELECT {BASE_COLUMNS} FROM knowledge_bases WHERE workspace_id = :ws ORDER BY name"),
        {"ws": as_uuid(workspace_id, "workspace")},
    )
    return [KnowledgeBase(*row) for row in rows]


class BaseOps:
    """Create, find, list and delete knowledge bases (and their HNSW indexes)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create_base(
        self,
        workspace_id: uuid.UUID | str,
        name: str,
        *,
        embedding_model: str,
        embedding_dim: int,
        description: str = "",
        chunk_size: int = 512,
        chunk_overlap: int = 64,
        settings: Mapping[str, Any] | None = None,
    ) -> KnowledgeBase:
        """Create a base and its HNSW index.

        Raises:
            ConflictError: the workspace already has a base of that name.
        """
        ws = as_uuid(workspace_id, "workspace")
        if not 1 <= embedding_dim <= 16000:
            raise ConflictError(f"embedding_dim must be between 1 and 16000, got {embedding_dim}")
        async with self.engine.begin() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM knowledge_bases WHERE workspace_id = :ws AND name = :name"),
                {"ws": ws, "name": name},
            )
            if exists:
                raise ConflictError(f"knowledge base '{name}' already exists; pick another name")
            row = (
                await conn.execute(
                    text(
                        "INSERT INTO knowledge_bases (workspace_id, name, description, "
                        "embedding_model, embedding_dim, chunk_size, chunk_overlap, settings) "
                        "VALUES (:ws, :name, :description, :model, :dim, :size, :overlap, "
                        f"CAST(:settings AS jsonb)) RETURNING {BASE_COLUMNS}"
                    ),
                    {
                        "ws": ws,
                        "name": name,
                        "description": description,
                        "model": embedding_model,
                        "dim": embedding_dim,
                        "size": chunk_size,
                        "overlap": chunk_overlap,
                        "settings": json.dumps(dict(settings or {})),
                    },
                )
            ).one()
            base = KnowledgeBase(*row)
            await self._create_index(conn, base)
        return base

    @staticmethod
    async def _create_index(conn: AsyncConnection, base: KnowledgeBase) -> None:
        # DDL cannot take bound parameters; every value is validated (UUID, ints) above.
        m, ef_construction = hnsw_build_params(base.settings)
        await conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(base.id)} ON chunks USING hnsw "
                f"((embedding::vector({int(base.embedding_dim)})) vector_cosine_ops) "
                f"WITH (m = {m}, ef_construction = {ef_construction}) "
                f"WHERE knowledge_base_id = '{base.id}'"
            )
        )

    async def ensure_index(self, base: KnowledgeBase) -> None:
        """(Re)create the base's HNSW index if it is missing."""
        async with self.engine.begin() as conn:
            await self._create_index(conn, base)

    async def drop_index(self, base: KnowledgeBase) -> None:
        """Drop the base's HNSW index (e.g. before a bulk load; call ensure_index after)."""
        async with self.engine.begin() as conn:
            await conn.execute(text(f"DROP INDEX IF EXISTS {hnsw_index_name(base.id)}"))

    async def get_base(
        self, workspace_id: uuid.UUID | str, base_id: uuid.UUID | str
    ) -> KnowledgeBase:
        """Raises: NotFoundError: no such base in this workspace."""
        async with self.engine.connect() as conn:
            return await read_base(conn, workspace_id, base_id)

    async def find_base(self, workspace_id: uuid.UUID | str, name: str) -> KnowledgeBase | None:
        """The base of that name in this workspace, if any."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        f"SELECT {BASE_COLUMNS} FROM knowledge_bases "
                        "WHERE workspace_id = :ws AND name = :name"
                    ),
                    {"ws": as_uuid(workspace_id, "workspace"), "name": name},
                )
            ).one_or_none()
        return KnowledgeBase(*row) if row is not None else None

    async def list_bases(self, workspace_id: uuid.UUID | str) -> list[KnowledgeBase]:
        """Every base of the workspace, by name."""
        async with self.engine.connect() as conn:
            return await read_bases(conn, workspace_id)

    async def delete_base(self, workspace_id: uuid.UUID | str, base_id: uuid.UUID | str) -> None:
        """Delete a base, its documents and chunks (cascade) and its index, in one transaction."""
        base = await self.get_base(workspace_id, base_id)
        async with self.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM knowledge_bases WHERE workspace_id = :ws AND id = :id"),
                {"ws": base.workspace_id, "id": base.id},
            )
            await conn.execute(text(f"DROP INDEX IF EXISTS {hnsw_index_name(base.id)}"))

    async def reset_embeddings(
        self,
        workspace_id: uuid.UUID | str,
        base_id: uuid.UUID | str,
        *,
        embedding_model: str,
        embedding_dim: int,
    ) -> KnowledgeBase:
        """Move a base to another embedding model: one transaction drops its chunks, keyword
        statistics (``knowledge_terms``, ``settings._stats``) and HNSW index, stores the new
        model, queues every document again and creates the index for the new dimension.

        The caller then ingests the documents again (their stored files are unchanged).
        """
        base = await self.get_base(workspace_id, base_id)
        if not 1 <= embedding_dim <= 16000:
            raise ConflictError(f"embedding_dim must be between 1 and 16000, got {embedding_dim}")
        params = {"ws": base.workspace_id, "kb": base.id}
        async with self.engine.begin() as conn:
            await conn.execute(text(f"DROP INDEX IF EXISTS {hnsw_index_name(base.id)}"))
            for table in ("chunks", "knowledge_terms"):
                await conn.execute(
                    text(
                        f"DELETE FROM {table} WHERE workspace_id = :ws AND knowledge_base_id = :kb"
                    ),
                    params,
                )
            row = (
                await conn.execute(
                    text(
                        "UPDATE knowledge_bases SET embedding_model = :model, embedding_dim = :dim,"
                        " settings = settings - '_stats', updated_at = now() "
                        f"WHERE workspace_id = :ws AND id = :kb RETURNING {BASE_COLUMNS}"
                    ),
                    {**params, "model": embedding_model, "dim": embedding_dim},
                )
            ).one()
            await conn.execute(
                text(
                    "UPDATE documents SET status = 'queued', error = NULL, chunks_done = 0, "
                    "chunks_total = 0, updated_at = now() "
                    "WHERE workspace_id = :ws AND knowledge_base_id = :kb"
                ),
                params,
            )
            moved = KnowledgeBase(*row)
            await self._create_index(conn, moved)
        return moved
