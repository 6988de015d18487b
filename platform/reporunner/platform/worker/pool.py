"""Worker processes that ``reporunner serve`` runs beside the API.

Each is a ``reporunner worker`` child on the services the API resolved (the embedded PostgreSQL
and Redis are started once, by ``serve``; the children get their URLs, never start their own).
A child that dies is started again after a second; on stop every child gets SIGTERM (it takes no
new job, finishes or hands back its running ones within ``worker_shutdown_grace_seconds``) and
is killed only if it is still there well after that. On Linux a child also gets SIGTERM if
``serve`` itself dies without cleaning up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys

from reporunner.platform.settings import Settings

__all__ = ["WorkerPool"]

log = logging.getLogger("reporunner.worker")

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class WorkerPool:
    """``count`` ``reporunner worker`` processes, restarted when they die, stopped together."""

    def __init__(self, settings: Settings, count: int) -> None:
        assert settings.database_url is not None
        assert settings.redis_url is not None
        self.settings = settings
        self.count = count
        self.procs: list[subprocess.Popen[bytes]] = []
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["DATABASE_URL"] = str(self.settings.database_url)
        env["REDIS_URL"] = str(self.settings.redis_url)
        env["REPORUNNER_DATA_DIR"] = str(self.settings.data_dir)
        return subprocess.Popen(
            [sys.executable, "-m", "reporunner.platform.cli", "worker"],
            env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.count)]
        self._watch = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        while not self._stopping:
            await asyncio.sleep(1.0)
            for i, proc in enumerate(self.procs):
                code = proc.poll()
                if code is not None and not self._stopping:
                    log.error("worker process %d exited with %s; starting another", proc.pid, code)
                    self.procs[i] = self._spawn()

    async def stop(self) -> None:
        """SIGTERM every worker, wait for them (grace + 30 s), SIGKILL what is left."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = asyncio.get_running_loop().time() + self.settings.worker_shutdown_grace_seconds
        deadline += 30.0
        while any(p.poll() is None for p in self.procs):
            if asyncio.get_running_loop().time() > deadline:
                for proc in self.procs:
                    if proc.poll() is None:
                        log.error("worker process %d did not stop; killing it", proc.pid)
                        proc.kill()
                        proc.wait()
                break
            await asyncio.sleep(0.1)
