"""A burst worker on the real Redis consumes a job (job discovery + worker wiring)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from reporunner.platform.resources import open_resources
from reporunner.platform.worker import app as worker_app
from reporunner.platform.worker import build_worker, job_functions


def test_jobs_are_discovered() -> None:
    assert "ping" in {job.__name__ for job in job_functions()}


async def test_burst_worker_runs_a_ping(settings) -> None:
    queue = f"test:{uuid.uuid4().hex}"
    resources = await open_resources(settings.model_copy(update={"queue_name": queue}))
    try:
        job = await resources.arq.enqueue_job("ping", "hello", _queue_name=queue)
        assert job is not None
        worker = build_worker(resources, burst=True, handle_signals=False)
        await worker.main()
        result = await job.result(timeout=10)
    finally:
        await resources.close()
    assert result["value"] == "hello"
    assert result["worker_id"]


async def test_worker_exit_leaves_a_task_that_ignores_its_cancel_behind(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a background task stuck in a network call used to keep a burst worker from returning
    released = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await released.wait()  # ignores the cancel until the test lets it go

    task = asyncio.create_task(stubborn(), name="worker stubborn")
    await asyncio.sleep(0)  # let it start
    monkeypatch.setattr(worker_app, "EXIT_WAIT_SECONDS", 0.05)
    with caplog.at_level(logging.ERROR, logger="reporunner.worker"):
        await worker_app._shutdown({"_background_tasks": [task]})
    assert not task.done()
    assert "worker stubborn did not end" in caplog.text
    released.set()
    await task
