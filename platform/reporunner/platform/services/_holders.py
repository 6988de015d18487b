"""Reference counting of embedded servers across processes.

Several reporunner processes (``serve``, ``worker``, ``kb ingest``, a test session) may share one
data directory. Each registers its pid as a *holder* of a server; the server is stopped only by
the last live holder. Pids of processes that died without cleaning up are pruned, so a crashed
process never keeps a server alive forever nor makes the next one refuse to stop it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import fasteners
import psutil

__all__ = ["Holders"]


class Holders:
    """A pid list in ``path`` guarded by an inter-process lock next to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = fasteners.InterProcessLock(str(path) + ".lock")

    def _read(self) -> list[int]:
        try:
            pids = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [int(p) for p in pids if psutil.pid_exists(int(p))]

    def _write(self, pids: list[int]) -> None:
        self.path.write_text(json.dumps(sorted(set(pids))))

    def add(self, pid: int | None = None) -> list[int]:
        """Register ``pid`` (default: this process); returns the live holders before it."""
        pid = os.getpid() if pid is None else pid
        before = self._read()
        self._write([*before, pid])
        return [p for p in before if p != pid]

    def remove(self, pid: int | None = None) -> list[int]:
        """Unregister ``pid``; returns the live holders that remain."""
        pid = os.getpid() if pid is None else pid
        remaining = [p for p in self._read() if p != pid]
        self._write(remaining)
        return remaining
