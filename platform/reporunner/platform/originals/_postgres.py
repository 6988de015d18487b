"""Originals in PostgreSQL: a blob row and its bytes in 1 MiB chunk rows.

A write is one transaction: the blob row (``ON CONFLICT DO NOTHING``: the same path is the
same content, and a second writer waits for the first), then one chunk row per piece as the
bytes stream in, then the hash check; a failed or refused write leaves nothing. A read looks
the blob up once and then fetches one chunk per short statement, so a slow client holds no
connection between pieces.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from reporunner.platform.db.models.originals import OriginalBlob, OriginalChunk
from reporunner.platform.originals._base import (
    CHUNK_BYTES,
    OriginalMissing,
    StoredOriginal,
    check_path,
    rechunk,
)

__all__ = ["PostgresOriginals"]

_BLOBS: Table = OriginalBlob.__table__  # type: ignore[assignment]
_CHUNKS: Table = OriginalChunk.__table__  # type: ignore[assignment]


class PostgresOriginals:
    """The default store: the platform's own PostgreSQL, nothing else to run."""

    kind = "postgres"

    def __init__(self, engine: AsyncEngine, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.engine = engine
        self.chunk_bytes = chunk_bytes

    async def put(
        self,
        workspace_id: uuid.UUID,
        base_id: uuid.UUID,
        path: str,
        chunks: AsyncIterable[bytes],
        *,
        sha256: str,
    ) -> bool:
        _, path_hash = check_path(workspace_id, path)
        if path_hash != sha256:
            raise ValueError(f"'{path}' is the path of other content than sha256 {sha256}")
        async with self.engine.begin() as conn:
            blob_id = await conn.scalar(
                pg_insert(_BLOBS)
                .values(
                    workspace_id=workspace_id,
                    knowledge_base_id=base_id,
                    path=path,
                    size_bytes=0,
                    sha256=sha256,
                )
                .on_conflict_do_nothing(index_elements=["workspace_id", "path"])
                .returning(_BLOBS.c.id)
            )
            if blob_id is None:
                return True
            digest, size, seq = hashlib.sha256(), 0, 0
            async for piece in rechunk(chunks, self.chunk_bytes):
                digest.update(piece)
                size += len(piece)
                await conn.execute(
                    insert(_CHUNKS).values(
                        workspace_id=workspace_id, blob_id=blob_id, seq=seq, data=piece
                    )
                )
                seq += 1
            if digest.hexdigest() != sha256:
                raise ValueError(
                    f"the bytes stored for '{path}' hash to {digest.hexdigest()}, not {sha256}"
                )
            await conn.execute(update(_BLOBS).where(_BLOBS.c.id == blob_id).values(size_bytes=size))
        return False

    async def _blob(self, workspace_id: uuid.UUID, path: str) -> tuple[uuid.UUID, int, str]:
        check_path(workspace_id, path)
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(_BLOBS.c.id, _BLOBS.c.size_bytes, _BLOBS.c.sha256).where(
                        _BLOBS.c.workspace_id == workspace_id, _BLOBS.c.path == path
                    )
                )
            ).first()
        if row is None:
            raise OriginalMissing(f"the original '{path}' is not stored; upload the document again")
        return row[0], row[1], row[2]

    async def stat(self, workspace_id: uuid.UUID, path: str) -> StoredOriginal:
        _, size, sha256 = await self._blob(workspace_id, path)
        return StoredOriginal(path, size, sha256)

    async def read(self, workspace_id: uuid.UUID, path: str) -> AsyncIterator[bytes]:
        blob_id, size, _ = await self._blob(workspace_id, path)
        seen, seq = 0, 0
        while seen < size:
            async with self.engine.connect() as conn:
                piece: bytes | None = await conn.scalar(
                    select(_CHUNKS.c.data).where(
                        _CHUNKS.c.workspace_id == workspace_id,
                        _CHUNKS.c.blob_id == blob_id,
                        _CHUNKS.c.seq == seq,
                    )
                )
            if piece is None:
                raise OriginalMissing(f"the original '{path}' was deleted while it was read")
            seen += len(piece)
            seq += 1
            yield piece

    async def delete(self, workspace_id: uuid.UUID, path: str) -> None:
        check_path(workspace_id, path)
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(_BLOBS).where(_BLOBS.c.workspace_id == workspace_id, _BLOBS.c.path == path)
            )

    async def delete_base(self, workspace_id: uuid.UUID, base_id: uuid.UUID) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(_BLOBS).where(
                    _BLOBS.c.workspace_id == workspace_id, _BLOBS.c.knowledge_base_id == base_id
                )
            )

    async def delete_workspace(self, workspace_id: uuid.UUID) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(_BLOBS).where(_BLOBS.c.workspace_id == workspace_id))

    async def close(self) -> None:
        """Nothing of its own: the engine is the process's."""
