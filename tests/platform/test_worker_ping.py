"""A burst worker on the real Redis consumes a job (job discovery + worker wiring)."""

from __future__ import annotations

import uuid

from reporunner.platform.resources import open_resources
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
