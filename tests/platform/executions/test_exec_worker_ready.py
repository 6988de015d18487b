"""A worker says when it takes jobs, and ``serve``'s ``/readyz`` reports that, not the import."""

from __future__ import annotations

import asyncio

from reporunner.platform.cli.serve import _readiness
from reporunner.platform.worker import build_worker
from reporunner.platform.worker.app import STATE_KEY


async def test_in_process_worker_is_ready_once_it_takes_jobs(resources) -> None:
    worker = build_worker(resources, handle_signals=False)
    readiness = _readiness(worker, None)
    assert readiness is not None
    assert readiness()["status"] == "fail"  # built (imported) but not started
    task = asyncio.create_task(worker.main())
    try:
        await asyncio.wait_for(worker.ready.wait(), timeout=60)
        assert STATE_KEY in worker.ctx  # its start-up (checkpointer, background loops) ran
        assert readiness() == {"status": "ok", "ready": 1, "processes": 0}
    finally:
        await worker.stop(0)
        await task
        await worker.close()
    assert _readiness(None, None) is None  # --no-worker: no workers check at all
