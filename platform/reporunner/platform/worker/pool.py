"""Worker processes that ``reporunner serve`` runs beside the API.

Each is a ``reporunner worker`` child on the services the API resolved (the embedded PostgreSQL
and Redis are started once, by ``serve``; the children get their URLs, never start their own).
A child that dies is started again after a second; on stop every child gets SIGTERM (it takes no
new job, finishes or hands back its running ones within ``worker_shutdown_grace_seconds``) and
is killed only if it is still there well after that. On Linux a child also gets SIGTERM if
``serve`` itself dies without cleaning up.

Each child says when it is ready (imports done, checkpointer open, taking jobs) by writing a
line on a pipe whose end it inherits (``REPORUNNER_READY_FD``); :meth:`WorkerPool.readiness`
counts the live children that said so, and ``serve``'s ``/readyz`` reports it.
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

__all__ = ["READY_FD_ENV", "WorkerPool", "signal_ready"]

log = logging.getLogger("reporunner.worker")

_PR_SET_PDEATHSIG = 1
READY_FD_ENV = "REPORUNNER_READY_FD"
"""Environment variable naming the file descriptor a worker child writes "ready" on."""


def signal_ready() -> None:
    """In a worker child of ``serve``: tell the parent it takes jobs now (once; no-op
    elsewhere)."""
    fd = os.environ.pop(READY_FD_ENV, None)
    if fd is None:
        return
    with contextlib.suppress(OSError, ValueError):
        os.write(int(fd), b"ready\n")
        os.close(int(fd))


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
        self._ready: set[int] = set()  # pids of children that said they are ready
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env["DATABASE_URL"] = str(self.settings.database_url)
        env["REDIS_URL"] = str(self.settings.redis_url)
        env["REPORUNNER_DATA_DIR"] = str(self.settings.data_dir)
        env[READY_FD_ENV] = str(write_fd)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "reporunner.platform.cli", "worker"],
                env=env,
                pass_fds=(write_fd,),
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._watch_ready(proc.pid, read_fd)
        return proc

    def _watch_ready(self, pid: int, read_fd: int) -> None:
        loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                data = b""
            if data:
                self._ready.add(pid)
            # one line is all a child says; at its end (or its death) the pipe is done
            loop.remove_reader(read_fd)
            os.close(read_fd)

        loop.add_reader(read_fd, readable)

    def readiness(self) -> dict[str, object]:
        """``{"status": "ok" | "fail", "ready": n, "processes": m}`` (with a ``reason``
        unless every live child said it is ready)."""
        alive = [p.pid for p in self.procs if p.poll() is None]
        ready = sum(1 for pid in alive if pid in self._ready)
        out: dict[str, object] = {"ready": ready, "processes": self.count}
        if ready == self.count and not self._stopping:
            return {"status": "ok", **out}
        reason = (
            "the worker processes are stopping"
            if self._stopping
            else f"{ready} of {self.count} worker processes ready (the others are starting)"
        )
        return {"status": "fail", "reason": reason, **out}

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.count)]
        self._watch = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        while not self._stopping:
            await asyncio.sleep(1.0)
            for i, proc in enumerate(self.procs):
                code = proc.poll()
                if code is not None and not self._stopping:
                    self._ready.discard(proc.pid)
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
