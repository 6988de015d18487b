"""Moving originals that earlier versions kept under ``<data_dir>/knowledge`` into the store.

``reporunner migrate`` runs :func:`move_local_originals` after the schema upgrade. For every
document whose original is still a local file: hash it (it must match its path's sha256), copy
it into the configured store as a stream, check the stored size and hash, and only then remove
the local file. Running it again moves what is left and skips what is done.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from reporunner.platform.db.models import Document
from reporunner.platform.originals._base import (
    CHUNK_BYTES,
    OriginalMissing,
    OriginalStore,
    check_path,
)

__all__ = ["MoveReport", "file_chunks", "local_root", "move_local_originals"]


def local_root(data_dir: Path) -> Path:
    """Where earlier versions kept originals."""
    return (data_dir / "knowledge").resolve()


@dataclass(slots=True)
class MoveReport:
    """What one run of :func:`move_local_originals` did."""

    moved: int = 0
    total: int = 0
    failed: list[str] = field(default_factory=list)
    """``path: reason`` of each file left in place."""


async def file_chunks(handle: BinaryIO, size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """A local file's bytes a piece at a time (each read in a worker thread)."""
    while piece := await asyncio.to_thread(handle.read, size):
        yield piece


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while piece := handle.read(CHUNK_BYTES):
            digest.update(piece)
            size += len(piece)
    return digest.hexdigest(), size


def _remove(path: Path, root: Path) -> None:
    path.unlink()
    for parent in path.parents:  # the now empty hash, base and workspace folders
        if parent == root or not parent.is_relative_to(root):
            break
        try:
            parent.rmdir()
        except OSError:
            break


async def _move_one(
    store: OriginalStore, workspace_id: uuid.UUID, path: str, local: Path, root: Path
) -> None:
    base_id, expected = check_path(workspace_id, path)
    actual, size = await asyncio.to_thread(_sha256, local)
    if actual != expected:
        raise ValueError(f"the file hashes to {actual}, not to its path's {expected}")
    with local.open("rb") as handle:
        await store.put(workspace_id, base_id, path, file_chunks(handle), sha256=expected)
    stored = await store.stat(workspace_id, path)
    if stored.size != size or stored.sha256 not in (None, expected):
        raise ValueError(
            f"the stored copy is {stored.size} bytes (sha256 {stored.sha256}); the file is "
            f"{size} bytes (sha256 {expected}); the file is kept"
        )
    await asyncio.to_thread(_remove, local, root)


async def move_local_originals(
    engine: AsyncEngine,
    store: OriginalStore,
    data_dir: Path,
    progress: Callable[[int, int, str], None] | None = None,
) -> MoveReport:
    """Move every document's local original into ``store``; idempotent.

    Args:
        engine: The platform database.
        store: The configured store of originals.
        data_dir: The data directory of the earlier version.
        progress: Called as ``progress(done, total, path)`` after each file.
    """
    report = MoveReport()
    root = local_root(data_dir)
    if not root.is_dir():
        return report
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Document.workspace_id, Document.storage_path)
                .where(Document.storage_path.is_not(None))
                .distinct()
                .order_by(Document.storage_path)
            )
        ).all()
    todo: list[tuple[uuid.UUID, str, Path]] = []
    for workspace_id, path in rows:
        assert path is not None
        local = (root / path).resolve()
        if local.is_relative_to(root) and local.is_file():
            todo.append((workspace_id, path, local))
    report.total = len(todo)
    for done, (workspace_id, path, local) in enumerate(todo, 1):
        try:
            await _move_one(store, workspace_id, path, local, root)
            report.moved += 1
        except (OriginalMissing, ValueError, OSError) as err:
            report.failed.append(f"{path}: {err}")
        if progress is not None:
            progress(done, report.total, path)
    return report
