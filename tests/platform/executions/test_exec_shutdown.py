"""Stopping a real ``reporunner worker`` process (issue faults 1 and 2): SIGTERM/SIGINT end it
within its grace period, it takes no new job once told to stop, a run that ends within the
grace period is finished there, and one that does not is handed back and continued elsewhere
without repeating a completed node."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import pytest
from exec_testnodes import count_key, registry_with_test_nodes
from worker_procs import counting, exits_within, node_runs, row, spawn_worker, until

from reporunner.platform.db.session import transaction
from reporunner.platform.executions import start_execution
from reporunner.platform.resources import Resources
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow

REGISTRY = registry_with_test_nodes()
SLACK = 30.0
"""What "within its grace period" allows beyond the grace itself (start-up, clean-up, a loaded
machine); the fault was a worker that never exits."""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_an_idle_worker_exits_on_a_signal(
    resources: Resources, services, tmp_path: Path, signum: signal.Signals
) -> None:
    log = tmp_path / "worker.log"
    with log.open("w") as stderr:
        proc = await spawn_worker(resources, services, tmp_path, stderr=stderr)
        try:
            await until(lambda: _worker_registered(resources), what="the worker to start")
            proc.send_signal(signum)
            assert await exits_within(proc, SLACK) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    # issue fault 10: every line was printed twice (a library's basicConfig handler + ours)
    assert log.read_text().count("worker started for") == 1


async def _worker_registered(resources: Resources) -> bool:
    """arq's health key appears once the worker polls (it is written on its first look)."""
    key = f"{resources.settings.queue_name}:health-check"
    return bool(await resources.redis.exists(key))


async def _blocked(resources: Resources, ex: str) -> bool:
    return await resources.redis.get(count_key(ex, "block")) == b"1"


async def _counts(resources: Resources, ex: str) -> list[bytes | None]:
    return [await resources.redis.get(count_key(ex, n)) for n in ("a", "b", "block", "c")]


async def test_sigterm_lets_the_running_execution_finish_and_takes_no_new_job(
    resources: Resources, tenant_factory, services, tmp_path: Path
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, counting(), REGISTRY)
    trigger = {"redis_url": services.redis_url}
    first = await start_execution(resources, tenant.workspace_id, wf.id, trigger)
    grace = 120.0
    proc = await spawn_worker(
        resources, services, tmp_path, REPORUNNER_WORKER_SHUTDOWN_GRACE_SECONDS=str(grace)
    )
    ex = str(first.id)
    try:
        await until(lambda: _blocked(resources, ex), what="the worker to reach the blocking node")
        proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0)  # the signal is handled by the worker, not by us: no wait needed
        second = await start_execution(resources, tenant.workspace_id, wf.id, trigger)
        # the stopping worker waits for the blocked node; release it
        await resources.redis.rpush(f"test:never:{ex}", "go")
        assert await exits_within(proc, grace + SLACK) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    done = await row(resources, first.id)
    assert done.status == "succeeded", done.error
    assert await _counts(resources, ex) == [b"1", b"1", b"1", b"1"]
    assert (await row(resources, second.id)).status == "queued"  # not taken after SIGTERM
    assert [n for n, _ in await node_runs(resources, first.id)] == ["start", "a", "b", "block", "c"]


async def test_sigterm_past_the_grace_period_hands_the_run_back_without_repeats(
    resources: Resources, tenant_factory, services, tmp_path: Path
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, counting(), REGISTRY)
    out = await start_execution(
        resources, tenant.workspace_id, wf.id, {"redis_url": services.redis_url}
    )
    grace = 1.0
    proc = await spawn_worker(
        resources, services, tmp_path, REPORUNNER_WORKER_SHUTDOWN_GRACE_SECONDS=str(grace)
    )
    ex = str(out.id)
    try:
        await until(lambda: _blocked(resources, ex), what="the worker to reach the blocking node")
        proc.send_signal(signal.SIGTERM)
        assert await exits_within(proc, grace + SLACK) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    back = await row(resources, out.id)
    assert (back.status, back.worker_id) == ("queued", None)  # handed back, not left running
    assert await _counts(resources, ex) == [b"1", b"1", b"1", None]  # its graph stopped too
    survivor = build_worker(resources, handle_signals=False, registry=REGISTRY)
    task = asyncio.create_task(survivor.main())
    try:

        async def ended() -> bool:
            return (await row(resources, out.id)).status not in ("queued", "running")

        await until(ended, what="another worker to finish the execution")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await survivor.close()
    assert (await row(resources, out.id)).status == "succeeded"
    # only the node that was running when the grace period ended ran again
    assert await _counts(resources, ex) == [b"1", b"1", b"2", b"1"]
    assert await node_runs(resources, out.id) == [
        ("start", "succeeded"),
        ("a", "succeeded"),
        ("b", "succeeded"),
        ("block", "interrupted"),
        ("block", "succeeded"),
        ("c", "succeeded"),
    ]
