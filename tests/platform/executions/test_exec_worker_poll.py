"""The worker's poll of the queue: arq keeps every running job in the queue until it ends, so on
a busy queue most ids a poll reads run already (here or on another worker). The poll drops them
in one round trip instead of trying a claim on each (which made a full worker at concurrency 32
spend a third more CPU per execution than at 8: BENCHMARKS.md, webhook_e2e)."""

from __future__ import annotations

import uuid

from arq.constants import in_progress_key_prefix

from reporunner.platform.resources import Resources
from reporunner.platform.worker import build_worker


async def test_the_poll_skips_jobs_running_elsewhere_and_here(resources: Resources) -> None:
    worker = build_worker(resources, handle_signals=False)
    queue = resources.settings.queue_name
    elsewhere, here, free = (f"job-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for score, job in enumerate((elsewhere, here, free)):
        await resources.redis.zadd(queue, {job: score})
    await resources.redis.set(in_progress_key_prefix + elsewhere, "1", px=60_000)
    worker.tasks[here] = None  # type: ignore[assignment]  # a job this worker runs
    try:
        left = await worker._not_running([j.encode() for j in (elsewhere, here, free)])
        assert left == [free.encode()]
        assert await worker._not_running([elsewhere.encode(), here.encode()]) == []
    finally:
        worker.tasks.clear()
        await resources.redis.delete(queue, in_progress_key_prefix + elsewhere)


async def test_a_running_job_the_poll_reads_is_never_started_twice(
    resources: Resources,
) -> None:
    """The filter is an optimisation: the claim stays the guarantee (a job whose in-progress
    key appears between the filter and the claim is still refused by the claim script)."""
    worker = build_worker(resources, handle_signals=False)
    queue = resources.settings.queue_name
    busy = f"job-{uuid.uuid4().hex[:8]}"
    await resources.redis.zadd(queue, {busy: 0})
    await resources.redis.set(in_progress_key_prefix + busy, "1", px=60_000)
    try:
        await worker.start_jobs([busy.encode()])  # one id: straight to the claim
        assert busy not in worker.tasks
        assert worker.job_counter == 0
        assert await resources.redis.zscore(queue, busy) is not None  # left where it was
    finally:
        await resources.redis.delete(queue, in_progress_key_prefix + busy)
