"""What every store of originals offers, and the paths they are kept under.

A path is ``<workspace>/<base>/<sha256>/<file-system-safe name>``: built only from ids, the
content hash and :func:`fs_safe_name`, so no client file name (``../../etc/passwd``, NUL
bytes, 300-character names) can choose where bytes land, and the first segment names the
workspace, so a store can refuse a path of another workspace before it looks anything up.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from reporunner.nodes.errors import NotFoundError

__all__ = [
    "CHUNK_BYTES",
    "OriginalMissing",
    "OriginalStore",
    "StoredOriginal",
    "check_path",
    "fs_safe_name",
    "original_path",
    "read_all",
    "rechunk",
]

CHUNK_BYTES = 1024 * 1024
"""Size of one piece of an original as it is written and read (the last may be shorter)."""

_NOT_PORTABLE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME_BYTES = 120
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PATH = re.compile(rf"({_UUID})/({_UUID})/([0-9a-f]{{64}})/([A-Za-z0-9][A-Za-z0-9._-]{{0,119}})")


class OriginalMissing(NotFoundError):
    """The stored original is gone (deleted, never moved in, or of another workspace)."""

    code = "original_missing"


def fs_safe_name(name: str) -> str:
    """A file-system name for ``name``: ASCII letters, digits, ``._-`` only, no leading dot,
    at most 120 bytes (keeping the extension), ``document`` when nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = _NOT_PORTABLE.sub("_", ascii_name.replace("\\", "/").split("/")[-1]).lstrip("._")
    if not base:
        return "document"
    if len(base) > _MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        base = base[: _MAX_NAME_BYTES - len(ext) - 1].rstrip("._") + ("." + ext if ext else "")
    return base


def original_path(workspace_id: uuid.UUID, base_id: uuid.UUID, content_hash: str, name: str) -> str:
    """The path an original of ``name`` with ``content_hash`` is stored under.

    Raises:
        ValueError: ``content_hash`` is not a sha256 hex digest.
    """
    if not re.fullmatch(r"[0-9a-f]{64}", content_hash):
        raise ValueError("content_hash must be a sha256 hex digest")
    return f"{workspace_id}/{base_id}/{content_hash}/{fs_safe_name(name)}"


def check_path(workspace_id: uuid.UUID, path: str) -> tuple[uuid.UUID, str]:
    """The base id and content hash of ``path``, when it is a well-formed path of
    ``workspace_id``.

    Raises:
        OriginalMissing: a malformed path, or one of another workspace (never looked up).
    """
    match = _PATH.fullmatch(path)
    if match is None or match.group(1) != str(workspace_id):
        raise OriginalMissing(f"no stored original '{path}' in this workspace")
    return uuid.UUID(match.group(2)), match.group(3)


@dataclass(frozen=True, slots=True)
class StoredOriginal:
    """What a store knows of one original."""

    path: str
    size: int
    sha256: str | None
    """Recorded at write time (PostgreSQL always; S3 when written by us)."""


async def rechunk(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """``chunks`` cut into pieces of exactly ``size`` bytes (the last may be shorter)."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class OriginalStore(Protocol):
    """Where uploaded originals live, shared by every API process and worker.

    Reads and deletes take the caller's workspace: a path of another workspace is an
    :class:`OriginalMissing`, whatever is stored under it.
    """

    kind: str
    """``postgres`` or ``s3`` (``REPORUNNER_ORIGINALS_STORE``)."""

    async def put(
        self,
        workspace_id: uuid.UUID,
        base_id: uuid.UUID,
        path: str,
        chunks: AsyncIterable[bytes],
        *,
        sha256: str,
    ) -> bool:
        """Store the bytes ``chunks`` yield under ``path`` (a no-op, True, when it is there
        already); verifies their sha256 before the original becomes visible.

        Returns:
            True when the original was there already (``chunks`` is then not read).

        Raises:
            ValueError: the bytes do not hash to ``sha256`` (nothing is kept).
        """
        ...

    async def stat(self, workspace_id: uuid.UUID, path: str) -> StoredOriginal:
        """Size (and hash) of a stored original.

        Raises:
            OriginalMissing: not stored, or not this workspace's.
        """
        ...

    def read(self, workspace_id: uuid.UUID, path: str) -> AsyncIterator[bytes]:
        """The original's bytes, a piece at a time (raises :class:`OriginalMissing` on the
        first step when it is not stored)."""
        ...

    async def delete(self, workspace_id: uuid.UUID, path: str) -> None:
        """Remove one original (a missing one is fine).

        Raises:
            OriginalMissing: ``path`` is not a path of this workspace (nothing is deleted).
        """
        ...

    async def delete_base(self, workspace_id: uuid.UUID, base_id: uuid.UUID) -> None:
        """Remove every original of a knowledge base."""
        ...

    async def delete_workspace(self, workspace_id: uuid.UUID) -> None:
        """Remove every original of a workspace."""
        ...

    async def close(self) -> None:
        """Release connections (the PostgreSQL store borrows the process's engine)."""
        ...


async def read_all(store: OriginalStore, workspace_id: uuid.UUID, path: str) -> bytes:
    """A whole original in memory (for the parsers, which need it; bounded by the upload
    limit)."""
    parts = [piece async for piece in store.read(workspace_id, path)]
    return b"".join(parts)
