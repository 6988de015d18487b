"""Originals of uploaded documents, kept under ``<data_dir>/knowledge``.

The worker re-reads the original to ingest it, a re-embed re-reads every original of a base,
and ``GET .../original`` serves it back. Paths are built only from ids, the content hash and a
file-system-safe form of the name, and resolved paths must stay inside the root, so no client
file name (``../../etc/passwd``, NUL bytes, 300-character names) can choose where bytes land.
The stored path is relative to the root, so the data directory can move.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from pathlib import Path
from typing import IO

from reporunner.nodes.errors import NotFoundError

__all__ = ["OriginalStore", "fs_safe_name"]

_NOT_PORTABLE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME_BYTES = 120
_BLOCK = 1024 * 1024


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


class OriginalStore:
    """Writes, reads and deletes originals below one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> OriginalStore:
        return cls(data_dir / "knowledge")

    def _inside(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise NotFoundError("the stored original is outside the knowledge data directory")
        return path

    def save(
        self,
        workspace_id: uuid.UUID,
        base_id: uuid.UUID,
        content_hash: str,
        name: str,
        data: bytes,
    ) -> str:
        """Store ``data`` (atomically: temp file + rename) and return its relative path."""
        if not re.fullmatch(r"[0-9a-f]{64}", content_hash):
            raise ValueError("content_hash must be a sha256 hex digest")
        relative = f"{workspace_id}/{base_id}/{content_hash}/{fs_safe_name(name)}"
        target = self._inside(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.stat().st_size == len(data):
            return relative
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return relative

    def save_file(
        self,
        workspace_id: uuid.UUID,
        base_id: uuid.UUID,
        name: str,
        handle: IO[bytes],
    ) -> tuple[str, str]:
        """Copy ``handle`` into the store in blocks, hashing it on the way (memory does not
        grow with the file); answer its sha256 and relative path."""
        root = self._inside(f"{workspace_id}/{base_id}")
        root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                handle.seek(0)
                while block := handle.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
            content_hash = digest.hexdigest()
            relative = f"{workspace_id}/{base_id}/{content_hash}/{fs_safe_name(name)}"
            target = self._inside(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return content_hash, relative

    def read(self, relative: str) -> bytes:
        """The bytes of a stored original.

        Raises:
            NotFoundError: the file is gone (deleted, or the data directory is another one).
        """
        path = self._inside(relative)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"the original file '{relative}' is missing from {self.root}; upload the "
                "document again (the API and workers must share the data directory)"
            ) from None

    def delete(self, relative: str | None) -> None:
        """Remove one original (and its now empty hash folder); missing files are fine."""
        if not relative:
            return
        path = self._inside(relative)
        path.unlink(missing_ok=True)
        # not empty (another name with the same content) or already gone: leave it
        with contextlib.suppress(OSError):
            path.parent.rmdir()

    def delete_base(self, workspace_id: uuid.UUID, base_id: uuid.UUID) -> None:
        """Remove every original of a knowledge base."""
        shutil.rmtree(self._inside(f"{workspace_id}/{base_id}"), ignore_errors=True)
