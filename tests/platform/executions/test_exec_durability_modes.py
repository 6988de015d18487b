"""Durability is a per-workflow promise: what each mode guarantees when a real worker process is
killed with SIGKILL mid-run, and which mode ``auto`` picks.

* ``durable`` (the existing SIGKILL test in ``test_exec_reaper.py`` shows it too): nothing lost,
  only the node that was running runs again.
* ``fast``: nothing lost either (the reaper re-queues the execution), but the run starts again
  from the trigger, so every node before the crash runs a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from exec_testnodes import count_key, registry_with_test_nodes
from sqlalchemy import update
from worker_procs import counting, row, spawn_worker, until

from reporunner.nodes.registry import default_registry
from reporunner.platform.db.models.workflows import Execution
from reporunner.platform.db.session import transaction
from reporunner.platform.engine import compile_workflow, parse_definition
from reporunner.platform.engine.durability import durability_of, langgraph_durability
from reporunner.platform.executions import start_execution
from reporunner.platform.resources import Resources
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow

REGISTRY = registry_with_test_nodes()


async def _kill_in_block_then_recover(
    resources: Resources, tenant_factory, services, tmp_path: Path, durability: str
) -> tuple[list[bytes | None], Any]:
    tenant = await tenant_factory()
    definition = counting(durability)
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, definition, REGISTRY)
    out = await start_execution(
        resources, tenant.workspace_id, wf.id, {"redis_url": services.redis_url}
    )
    ex = str(out.id)
    proc = await spawn_worker(resources, services, tmp_path)
    try:

        async def blocked() -> bool:
            return await resources.redis.get(count_key(ex, "block")) == b"1"

        await until(blocked, what="the worker to reach the blocking node")
        proc.send_signal(signal.SIGKILL)
        assert await proc.wait() == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # the killed worker's heartbeat stops; the test moves it an hour back instead of waiting
    # out the reaper's cut-off (``reap_after_seconds``)
    async with transaction(resources.sessions) as db:
        await db.execute(
            update(Execution)
            .where(Execution.id == out.id)
            .values(heartbeat_at=Execution.heartbeat_at - timedelta(hours=1))
        )
    survivor = build_worker(resources, handle_signals=False, registry=REGISTRY)
    task = asyncio.create_task(survivor.main())
    try:

        async def ended() -> bool:
            return (await row(resources, out.id)).status not in ("queued", "running")

        await until(ended, what="the execution to finish on another worker")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await survivor.close()
    counts = [await resources.redis.get(count_key(ex, n)) for n in ("a", "b", "block", "c")]
    return counts, await row(resources, out.id)


async def test_durable_mode_after_sigkill_repeats_only_the_running_node(
    resources: Resources, tenant_factory, services, tmp_path: Path
) -> None:
    counts, final = await _kill_in_block_then_recover(
        resources, tenant_factory, services, tmp_path, "durable"
    )
    assert final.status == "succeeded", final.error
    assert counts == [b"1", b"1", b"2", b"1"]
    # issue fault 5: the killed worker's job stayed at the head of arq's queue for ~61 min
    dead_job = str(final.id)
    assert await resources.redis.zscore(resources.settings.queue_name, dead_job) is None
    assert not await resources.redis.exists(f"arq:in-progress:{dead_job}")


async def test_fast_mode_after_sigkill_loses_nothing_but_runs_again_from_the_trigger(
    resources: Resources, tenant_factory, services, tmp_path: Path
) -> None:
    counts, final = await _kill_in_block_then_recover(
        resources, tenant_factory, services, tmp_path, "fast"
    )
    assert final.status == "succeeded", final.error
    # a and b completed before the crash and ran again; block's second call passes
    assert counts == [b"2", b"2", b"2", b"1"]


def _compiled(nodes: list[dict[str, Any]], durability: str = "auto") -> Any:
    edges = [
        {
            "source": a["id"],
            "target": b["id"],
            "source_port": "true" if a["type"] == "logic.if" else "main",
        }
        for a, b in itertools.pairwise(nodes)
    ]
    definition = {
        "name": "d",
        "nodes": nodes,
        "edges": edges,
        "settings": {"durability": durability},
    }
    return compile_workflow(parse_definition(definition), default_registry())


HOOK = {"path": "x", "response_mode": "respond_node"}
EXISTS = {"conditions": [{"value": "1", "operator": "exists"}]}
WEBHOOK_FLOW = [
    {"id": "hook", "type": "trigger.webhook", "params": HOOK},
    {"id": "set", "type": "data.set", "params": {"fields": [{"name": "a", "value": "1"}]}},
    {"id": "if", "type": "logic.if", "params": EXISTS},
    {"id": "answer", "type": "webhook.respond", "params": {"respond_with": "first_item"}},
]


def test_auto_picks_fast_for_in_memory_nodes_and_durable_for_anything_else() -> None:
    assert durability_of(_compiled(WEBHOOK_FLOW)) == "fast"
    assert langgraph_durability(_compiled(WEBHOOK_FLOW)) == "exit"
    http = {"id": "call", "type": "http.request", "params": {"url": "https://example.com"}}
    assert durability_of(_compiled([*WEBHOOK_FLOW[:2], http])) == "durable"
    wait = {"id": "pause", "type": "logic.wait", "params": {"amount": 1}}
    assert langgraph_durability(_compiled([*WEBHOOK_FLOW[:2], wait])) == "sync"


def test_an_explicit_mode_wins_over_the_rule() -> None:
    assert durability_of(_compiled(WEBHOOK_FLOW, "durable")) == "durable"
    http = {"id": "call", "type": "http.request", "params": {"url": "https://example.com"}}
    assert durability_of(_compiled([WEBHOOK_FLOW[0], http], "fast")) == "fast"


def test_an_unknown_mode_is_a_validation_error_naming_the_field() -> None:
    from reporunner.nodes.errors import ValidationFailed

    definition = {"name": "d", "nodes": WEBHOOK_FLOW[:1], "settings": {"durability": "yolo"}}
    try:
        parse_definition(definition)
    except ValidationFailed as err:
        pointers = [p["pointer"] for p in err.extra["problems"]]
        assert "/settings/durability" in pointers
    else:
        raise AssertionError("an unknown durability was accepted")
