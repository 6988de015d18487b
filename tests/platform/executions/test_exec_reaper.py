"""The reaper: a lost job, a failed enqueue, a SIGKILLed worker, and a crash loop — the
``executions`` row is the truth, and no execution stays ``running`` forever."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import signal
import socket
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from arq.connections import ArqRedis
from exec_testnodes import count_key, registry_with_test_nodes
from sqlalchemy import select, update

from reporunner.platform.db.models.workflows import Execution, NodeRun
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import reap_once, start_execution
from reporunner.platform.executions.events import read_events
from reporunner.platform.executions.job_runner import MAX_ATTEMPTS
from reporunner.platform.resources import Resources
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow

HERE = Path(__file__).parent
REGISTRY = registry_with_test_nodes()


def _counting(redis_url: str) -> dict[str, Any]:
    param = {"redis_url": "{{ trigger.redis_url }}"}
    nodes = [
        {"id": "start", "type": "trigger.manual"},
        {"id": "a", "type": "test.count", "params": param},
        {"id": "b", "type": "test.count", "params": param},
        {"id": "block", "type": "test.block_once", "params": param},
        {"id": "c", "type": "test.count", "params": param},
    ]
    ids = [n["id"] for n in nodes]
    edges = [{"source": s, "target": t} for s, t in itertools.pairwise(ids)]
    return {"name": "counting", "nodes": nodes, "edges": edges}


GREET = {
    "name": "greet",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "set", "type": "data.set", "params": {"fields": [{"name": "hi", "value": "yes"}]}},
    ],
    "edges": [{"source": "start", "target": "set"}],
}


async def _row(resources: Resources, ex_id: uuid.UUID) -> Execution:
    async with resources.sessions() as session:
        row = await session.get(Execution, ex_id, populate_existing=True)
        assert row is not None
        return row


async def _until(check: Any, limit: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _stale(resources: Resources, ex_id: uuid.UUID) -> None:
    """An hour passes for ``ex_id``: its creation and last heartbeat move behind the reaper's
    cutoff (``reap_after_seconds``), instead of the test waiting on the wall clock."""
    hour = timedelta(hours=1)
    async with resources.sessions() as session, session.begin():
        await session.execute(
            update(Execution)
            .where(Execution.id == ex_id)
            .values(
                created_at=Execution.created_at - hour, heartbeat_at=Execution.heartbeat_at - hour
            )
        )


async def _reaps(resources: Resources, ex_id: uuid.UUID) -> None:
    """Make ``ex_id`` stale, then run reaper passes until one re-queues it (the reaper serves
    every workspace of its queue, so it may pick up executions this test's queue left as well)."""
    await _stale(resources, ex_id)

    async def found() -> bool:
        return ex_id in await reap_once(resources)

    await _until(found, what="the reaper")


async def _drain(resources: Resources) -> None:
    await build_worker(resources, burst=True, handle_signals=False, registry=REGISTRY).main()


async def test_a_queued_execution_whose_job_was_lost_is_enqueued_again(
    resources: Resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    out = await start_execution(resources, tenant.workspace_id, wf.id, {"n": 1})
    queue = resources.settings.queue_name
    # Redis loses the job (flushed, failed over...): the row still says queued
    await resources.redis.delete(f"arq:job:{out.id}")
    await resources.redis.zrem(queue, str(out.id))
    assert await resources.redis.zcard(queue) == 0
    await _reaps(resources, out.id)
    await _drain(resources)
    row = await _row(resources, out.id)
    assert (row.status, row.attempts) == ("succeeded", 1)


async def test_a_job_taken_by_a_worker_that_died_before_its_claim_is_enqueued_again(
    resources: Resources, tenant_factory
) -> None:
    """A worker took the job (arq's in-progress key, which lives for the whole job timeout) and
    was SIGKILLed before its first statement claimed the row: the row stays ``queued`` with no
    worker. Found by the cluster test (tests/platform/test_cluster.py): the reaper took the
    in-progress job for a live one and the execution waited an hour."""
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    out = await start_execution(resources, tenant.workspace_id, wf.id, {"n": 1})
    dead_job = str(out.id)
    await resources.redis.set(f"arq:in-progress:{dead_job}", b"1", px=3_600_000)
    # while the row is fresh, the worker that took the job may still claim it: left alone
    assert out.id not in await reap_once(resources)
    assert await resources.redis.exists(f"arq:in-progress:{dead_job}")
    await _reaps(resources, out.id)
    assert not await resources.redis.exists(f"arq:in-progress:{dead_job}")  # the dead job went
    assert dead_job.encode() not in await resources.redis.zrange(
        resources.settings.queue_name, 0, -1
    )
    await _drain(resources)
    row = await _row(resources, out.id)
    assert (row.status, row.attempts) == ("succeeded", 1)


async def test_a_reaper_leaves_the_executions_of_another_queue_alone(
    resources: Resources, tenant_factory
) -> None:
    """Two worker pools (or deployments) with different queue names on one database: each
    reaper re-queues only its own queue's lost work, onto that queue (before, a worker of the
    other queue took it and ran it without the node types its own workers have)."""
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    other = dataclasses.replace(
        resources,
        settings=resources.settings.model_copy(update={"queue_name": f"other:{uuid.uuid4().hex}"}),
    )
    queued = await start_execution(resources, tenant.workspace_id, wf.id, {})
    running = await start_execution(resources, tenant.workspace_id, wf.id, {})
    assert (await _row(resources, queued.id)).queue == resources.settings.queue_name
    await resources.redis.delete(f"arq:job:{queued.id}")  # Redis lost its job
    await resources.redis.zrem(resources.settings.queue_name, str(queued.id))
    async with resources.sessions() as session, session.begin():
        await session.execute(
            update(Execution)
            .where(Execution.id == running.id)
            .values(
                status="running",
                worker_id="dead-worker",
                attempts=1,
                heartbeat_at=Execution.created_at,
            )
        )
    await _stale(resources, queued.id)
    await _stale(resources, running.id)
    taken = await reap_once(other)
    assert {queued.id, running.id}.isdisjoint(taken)
    assert (await _row(resources, running.id)).status == "running"
    assert await other.redis.zcard(other.settings.queue_name) == 0
    mine = await reap_once(resources)
    assert {queued.id, running.id} <= set(mine)
    await _drain(resources)
    assert [(await _row(resources, ex)).status for ex in (queued.id, running.id)] == [
        "succeeded",
        "succeeded",
    ]


async def test_a_failed_enqueue_leaves_a_row_the_reaper_finds(
    resources: Resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    with socket.socket() as sock:  # a port nobody listens on: Redis is "down" for the enqueue
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    broken = ArqRedis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    try:
        api = dataclasses.replace(resources, arq=broken)
        out = await start_execution(api, tenant.workspace_id, wf.id, {})
    finally:
        await broken.aclose()
    assert out.status == "queued"  # committed before the enqueue was tried
    assert await resources.redis.zcard(resources.settings.queue_name) == 0
    await _reaps(resources, out.id)
    await _drain(resources)
    assert (await _row(resources, out.id)).status == "succeeded"


async def test_a_crash_loop_ends_failed_not_running_forever(
    resources: Resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    out = await start_execution(resources, tenant.workspace_id, wf.id, {})
    async with resources.sessions() as session, session.begin():
        await session.execute(
            update(Execution)
            .where(Execution.id == out.id)
            .values(
                status="running",
                worker_id="dead-worker",
                attempts=MAX_ATTEMPTS,
                heartbeat_at=Execution.created_at,
            )
        )

    await _stale(resources, out.id)

    async def reaped() -> bool:
        await reap_once(resources)
        return (await _row(resources, out.id)).status != "running"

    await _until(reaped, what="the reaper")
    row = await _row(resources, out.id)
    assert row.status == "failed"
    assert row.error is not None
    assert row.error["code"] == "worker_lost"
    assert row.finished_at is not None
    events = await read_events(resources.redis, str(out.id))
    assert events[-1].event == "execution.finished"
    assert events[-1].data["status"] == "failed"


def _plugin_path(tmp_path: Path) -> str:
    """A dist-info that declares the test nodes as a ``reporunner.nodes`` entry point, before
    the test process's own path (the worker must run the code under test, not an installed copy:
    both sides of the queue must speak the same job codec)."""
    dist = tmp_path / "plugins" / "rr_test_nodes-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rr-test-nodes\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[reporunner.nodes]\ntest_nodes = exec_testnodes\n")
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join([str(tmp_path / "plugins"), str(HERE), *inherited])


async def test_a_sigkilled_worker_execution_finishes_on_another_worker(
    resources: Resources, tenant_factory, services, tmp_path: Path
) -> None:
    settings = resources.settings
    tenant = await tenant_factory()
    definition = _counting(services.redis_url)
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, definition, REGISTRY)
    out = await start_execution(
        resources, tenant.workspace_id, wf.id, {"redis_url": services.redis_url}
    )
    env = {
        **os.environ,
        "PYTHONPATH": _plugin_path(tmp_path),
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_QUEUE_NAME": settings.queue_name,
        "REPORUNNER_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
        "REPORUNNER_REAP_AFTER_SECONDS": str(settings.reap_after_seconds),
        "REPORUNNER_DATA_DIR": str(tmp_path / "data"),
    }
    reporunner = str(Path(sys.executable).parent / "reporunner")
    proc = await asyncio.create_subprocess_exec(
        reporunner,
        "worker",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    ex = str(out.id)
    try:

        async def blocked() -> bool:
            return await resources.redis.get(count_key(ex, "block")) == b"1"

        await _until(blocked, what="the subprocess worker to reach the blocking node")
        dead_worker = (await _row(resources, out.id)).worker_id
        assert dead_worker is not None
        proc.send_signal(signal.SIGKILL)
        assert await proc.wait() == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (await _row(resources, out.id)).status == "running"  # nobody told the database
    await _stale(resources, out.id)  # its heartbeat stopped an hour ago, as far as anyone knows
    survivor = build_worker(resources, handle_signals=False, registry=REGISTRY)
    task = asyncio.create_task(survivor.main())
    try:

        async def ended() -> bool:
            return (await _row(resources, out.id)).status not in ("queued", "running")

        await _until(ended, what="the execution to finish on the surviving worker")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    row = await _row(resources, out.id)
    assert row.status == "succeeded", row.error
    assert row.worker_id not in (None, dead_worker)
    assert row.attempts == 2
    counts = [await resources.redis.get(count_key(ex, n)) for n in ("a", "b", "block", "c")]
    assert counts == [b"1", b"1", b"2", b"1"]  # completed nodes did not run again
    async with resources.sessions() as session:
        runs = (
            await session.execute(
                select(NodeRun.node_id, NodeRun.status)
                .where(NodeRun.execution_id == out.id)
                .order_by(NodeRun.started_at)
            )
        ).all()
    assert [tuple(r) for r in runs] == [
        ("start", "succeeded"),
        ("a", "succeeded"),
        ("b", "succeeded"),
        ("block", "interrupted"),
        ("block", "succeeded"),
        ("c", "succeeded"),
    ]


async def test_a_cancel_sent_to_a_dead_worker_still_ends_the_execution(
    resources: Resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    out = await start_execution(resources, tenant.workspace_id, wf.id, {})
    await resources.redis.delete(f"arq:job:{out.id}")
    await resources.redis.zrem(resources.settings.queue_name, str(out.id))
    async with resources.sessions() as session, session.begin():
        await session.execute(
            update(Execution)
            .where(Execution.id == out.id)
            .values(
                status="running",
                worker_id="dead-worker",
                attempts=1,
                cancel_requested=True,
                heartbeat_at=Execution.created_at,
            )
        )
    await _reaps(resources, out.id)
    await _drain(resources)
    row = await _row(resources, out.id)
    assert (row.status, row.attempts) == ("cancelled", 1)
    events = await read_events(resources.redis, str(out.id))
    assert [(e.event, e.data["status"]) for e in events] == [("execution.finished", "cancelled")]


@pytest.mark.timeout(400)  # two waits with hang-guard deadlines, on a possibly loaded machine
async def test_dropped_database_connections_mid_run_do_not_strand_the_execution(
    resources: Resources, tenant_factory, services
) -> None:
    tenant = await tenant_factory()
    flow = {
        "name": "pauses",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "pause", "type": "logic.wait", "params": {"amount": 1}},
            {"id": "set", "type": "data.set", "params": {"fields": [{"name": "x", "value": "1"}]}},
        ],
        "edges": [{"source": "start", "target": "pause"}, {"source": "pause", "target": "set"}],
    }
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, flow, REGISTRY)
    out = await start_execution(resources, tenant.workspace_id, wf.id, {})
    worker = build_worker(resources, handle_signals=False, registry=REGISTRY)
    task = asyncio.create_task(worker.main())
    try:

        async def pausing() -> bool:
            async with resources.sessions() as session:
                return bool(
                    await session.scalar(
                        select(NodeRun.id).where(
                            NodeRun.execution_id == out.id, NodeRun.node_id == "pause"
                        )
                    )
                )

        await _until(pausing, limit=180, what="the wait node to start")
        # every pooled connection of the database dies (a Postgres restart, a failover...)
        with psycopg.connect(services.pg_dsn, autocommit=True) as conn:
            pids = [
                pid
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
            ]
            assert pids
            conn.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
            # pg_terminate_backend only signals: wait until those backends are gone, so every
            # pooled connection is dead with the news on its socket (a pool finds that out
            # when it hands the connection out), not one dying later in the middle of a query
            deadline = time.monotonic() + 60
            while conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
            ).fetchone() != (0,):
                assert time.monotonic() < deadline, "the terminated backends did not go away"
                time.sleep(0.05)

        async def ended() -> bool:
            return (await _row(resources, out.id)).status not in ("queued", "running")

        await _until(ended, limit=180, what="the execution to end")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    row = await _row(resources, out.id)
    assert row.status == "succeeded", row.error
    assert row.result == {"final_items": [{"x": "1"}]}
