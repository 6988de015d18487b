"""A real arq worker for tests whose own event loop is blocked (a streaming test client)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from reporunner.platform.resources import open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker

__all__ = ["ThreadWorker"]

STOP_SECONDS = 90.0
"""How long a cancelled worker may take to end its jobs and close (a busy machine is slow)."""


class ThreadWorker:
    """An arq worker on its own thread and event loop (the test client blocks the test's loop
    while the app streams, so a worker there would never run)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.task: asyncio.Task[Any] | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        finally:
            # as asyncio.run ends: tasks started on this loop by libraries (litellm's logging
            # worker, after an LLM call in a job) are cancelled and awaited, not destroyed
            # pending when the loop closes (an unraisable error in the next test)
            left = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in left:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())

    async def _main(self) -> None:
        resources = await open_resources(self.settings)
        try:
            worker = build_worker(resources, burst=False, handle_signals=False)
            self.task = asyncio.ensure_future(worker.main())
            self.ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        finally:
            await resources.close()

    def __enter__(self) -> ThreadWorker:
        self.thread.start()
        assert self.ready.wait(30), "the worker did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.task is not None
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(STOP_SECONDS)
        if self.thread.is_alive():
            # never left running: a live worker (and its reapers) outlasting its test would
            # take work of the tests after it; stop its loop, then say so
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(STOP_SECONDS)
            raise AssertionError(f"the test worker did not stop within {STOP_SECONDS}s")
        self.loop.close()
