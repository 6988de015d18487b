"""Durable execution on the real Postgres: resume after a crash, sync checkpoints, approvals
across a worker restart."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from engine_testkit import CALLS, Crash, execute, wf
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection

from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.engine.checkpoint import fresh_thread, postgres_checkpointer
from reporunner.platform.engine.compile import compile_workflow
from reporunner.platform.engine.definition import parse_definition
from reporunner.platform.engine.state import out_key

HERE = Path(__file__).parent


def _id() -> str:
    return uuid.uuid4().hex


async def test_crash_mid_run_resumes_without_rerunning_completed_nodes(
    registry: NodeRegistry, services: Any
) -> None:
    exec_id = _id()
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "a", "type": "t.set", "params": {"values": {"a": 1}}},
            {"id": "b", "type": "t.set", "params": {"values": {"b": 2}}},
            {"id": "boom", "type": "t.crash"},
            {"id": "c", "type": "t.set", "params": {"values": {"c": 3}}},
        ],
        ["start->a", "a->b", "b->boom", "boom->c"],
    )
    async with postgres_checkpointer(services.pg_dsn) as saver:
        crashed = False
        try:
            await execute(registry, definition, exec_id, checkpointer=saver)
        except Crash:
            crashed = True
        assert crashed
    # another worker, another pool: picks the execution up from its last checkpoint
    async with postgres_checkpointer(services.pg_dsn) as saver:
        result, hooks = await execute(registry, definition, exec_id, checkpointer=saver)
    assert result.status == "succeeded", result.error
    assert result.outputs["c"]["main"] == [{"n": 1, "a": 1, "b": 2, "c": 3}]
    assert [CALLS[f"{exec_id}:{n}"] for n in ("start", "a", "b", "boom", "c")] == [1, 1, 1, 2, 1]
    assert hooks.ran() == ["boom", "c"]
    assert hooks.events[0][1]["resumed"] is True


async def test_finished_execution_is_not_run_again(registry: NodeRegistry, services: Any) -> None:
    exec_id = _id()
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"]
    )
    async with postgres_checkpointer(services.pg_dsn) as saver:
        first, _ = await execute(registry, definition, exec_id, checkpointer=saver)
        again, hooks = await execute(registry, definition, exec_id, checkpointer=saver)
    assert first.status == again.status == "succeeded"
    assert again.outputs == first.outputs
    assert hooks.ran() == []
    assert CALLS[f"{exec_id}:a"] == 1


async def test_a_finished_node_is_committed_before_the_next_starts(
    registry: NodeRegistry, services: Any
) -> None:
    exec_id = _id()
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "a", "type": "t.set"},
            {"id": "probe", "type": "t.probe"},
        ],
        ["start->a", "a->probe"],
    )
    compiled = compile_workflow(parse_definition(definition), registry)

    async def probe() -> list[str]:
        # A separate connection sees only what was committed.
        async with AsyncPostgresSaver.from_conn_string(services.pg_dsn) as other:
            graph = compiled.graph.copy(update={"checkpointer": other})
            snapshot = await graph.aget_state({"configurable": {"thread_id": exec_id}})
            return sorted(k for k in ("start", "a", "probe") if out_key(k) in snapshot.values)

    async with postgres_checkpointer(services.pg_dsn) as saver:
        result, _ = await execute(
            registry, definition, exec_id, checkpointer=saver, services={"probe": probe}
        )
    assert result.status == "succeeded", result.error
    assert result.outputs["probe"]["main"] == [{"seen": ["a", "start"]}]


async def test_approval_resumes_after_a_worker_restart(
    registry: NodeRegistry, services: Any
) -> None:
    exec_id = _id()
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "before", "type": "t.set"},
            {"id": "approve", "type": "t.approval"},
            {"id": "after", "type": "t.set", "params": {"values": {"done": True}}},
        ],
        ["start->before", "before->approve", "approve->after"],
    )
    async with postgres_checkpointer(services.pg_dsn) as saver:
        waiting, _ = await execute(registry, definition, exec_id, checkpointer=saver)
    assert waiting.status == "waiting"
    assert waiting.waiting_payload["question"] == "ship it?"
    async with postgres_checkpointer(services.pg_dsn) as saver:
        done, hooks = await execute(
            registry, definition, exec_id, checkpointer=saver, resume={"ok": True}
        )
    assert done.status == "succeeded", done.error
    assert done.outputs["after"]["main"] == [{"n": 1, "approved": {"ok": True}, "done": True}]
    assert CALLS[f"{exec_id}:before"] == 1
    assert hooks.ran() == ["approve", "after"]


_WORKER = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from engine_testkit import make_registry
from reporunner.platform.engine.checkpoint import postgres_checkpointer
from reporunner.platform.engine.compile import compile_workflow
from reporunner.platform.engine.definition import parse_definition
from reporunner.platform.engine.state import out_key
from reporunner.platform.engine.hooks import NullHooks
from reporunner.platform.engine.durable_run import run_execution

async def main(dsn, exec_id, definition):
    compiled = compile_workflow(parse_definition(definition), make_registry())
    async with postgres_checkpointer(dsn) as saver:
        result = await run_execution(
            compiled, execution_id=exec_id, workspace_id="ws", trigger={"n": 1},
            checkpointer=saver, hooks=NullHooks(),
        )
    print(json.dumps({"status": result.status, "final": result.final_items}))

asyncio.run(main(sys.argv[2], sys.argv[3], sys.argv[4]))
"""


async def _worker(dsn: str, exec_id: str, definition: dict[str, Any]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _WORKER,
        str(HERE),
        dsn,
        exec_id,
        json.dumps(definition),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


async def test_sigkilled_worker_resumes_on_another_process(services: Any, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    killed = tmp_path / "killed"
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "m1", "type": "t.mark", "params": {"path": str(marks)}},
            {"id": "m2", "type": "t.mark", "params": {"path": str(marks)}},
            {"id": "kill", "type": "t.kill", "params": {"path": str(killed)}},
            {"id": "m3", "type": "t.mark", "params": {"path": str(marks)}},
        ],
        ["start->m1", "m1->m2", "m2->kill", "kill->m3"],
    )
    exec_id = _id()
    code, output = await _worker(services.pg_dsn, exec_id, definition)
    assert code == -9, output
    assert marks.read_text().split() == ["m1", "m2"]
    code, output = await _worker(services.pg_dsn, exec_id, definition)
    assert code == 0, output
    assert json.loads(output.strip().splitlines()[-1]) == {
        "status": "succeeded",
        "final": [{"n": 1}],
    }
    assert marks.read_text().split() == ["m1", "m2", "m3"]
    assert Path(str(killed) + ".mark").read_text().split() == ["kill", "kill"]
    assert os.path.exists(killed)


async def test_dropped_database_connections_mid_run_are_survived(
    registry: NodeRegistry, services: Any
) -> None:
    """What a Postgres restart does to a worker: every pooled connection dies mid-run."""
    exec_id = _id()
    app = f"rr-engine-{exec_id[:12]}"
    sep = "&" if "?" in services.pg_dsn else "?"
    dsn = f"{services.pg_dsn}{sep}application_name={app}"
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "a", "type": "t.set", "params": {"values": {"a": 1}}},
            {"id": "cut", "type": "t.probe"},
            {"id": "b", "type": "t.set", "params": {"values": {"b": 2}}},
        ],
        ["start->a", "a->cut", "cut->b"],
    )

    async def drop_connections() -> int:
        async with await AsyncConnection.connect(services.pg_dsn, autocommit=True) as admin:
            cur = await admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (app,),
            )
            row = await cur.fetchone()
            assert row is not None
            # pg_terminate_backend only signals: wait until the backends are gone, so the node
            # ends with every pooled connection dead (not one dying later, mid-write)
            deadline = asyncio.get_running_loop().time() + 30
            while asyncio.get_running_loop().time() < deadline:
                left = await admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (app,)
                )
                still = await left.fetchone()
                if still is not None and still[0] == 0:
                    break
                await asyncio.sleep(0.05)
            return int(row[0])

    async with postgres_checkpointer(dsn, min_size=2) as saver:
        result, _ = await execute(
            registry, definition, exec_id, checkpointer=saver, services={"probe": drop_connections}
        )
    assert result.status == "succeeded", result.error
    killed = result.outputs["cut"]["main"][0]["seen"]
    assert killed >= 1
    assert result.outputs["b"]["main"] == [{"seen": killed, "b": 2}]


async def test_a_fresh_run_skips_the_checkpoint_lookup_and_still_commits(
    registry: NodeRegistry, services: Any
) -> None:
    """``fresh=True``: LangGraph's lookup of the latest checkpoint is answered without a query
    (there can be none), and the run's checkpoint is still written: a second call finds the
    run finished and runs nothing."""
    exec_id = _id()
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"]
    )
    async with postgres_checkpointer(services.pg_dsn) as saver:
        lookups: list[Any] = []
        real = saver.aget_tuple

        async def counted(config: Any) -> Any:
            lookups.append(config)
            return await real(config)

        saver.aget_tuple = counted  # type: ignore[method-assign]
        first, _ = await execute(registry, definition, exec_id, checkpointer=saver, fresh=True)
        fresh_lookups = len(lookups)
        again, hooks = await execute(registry, definition, exec_id, checkpointer=saver)
    assert first.status == again.status == "succeeded"
    assert fresh_lookups == 0
    assert lookups  # the second call looked, and found the finished run
    assert hooks.ran() == []
    assert CALLS[f"{exec_id}:a"] == 1


async def test_a_fresh_twin_looks_up_everything_after_its_first_lookup(
    registry: NodeRegistry, services: Any
) -> None:
    exec_id = _id()
    config: Any = {"configurable": {"thread_id": exec_id, "checkpoint_ns": ""}}
    definition = wf([{"id": "start", "type": "t.trigger"}], [])
    async with postgres_checkpointer(services.pg_dsn) as saver:
        await execute(registry, definition, exec_id, checkpointer=saver)  # a checkpoint exists
        twin = fresh_thread(saver)
        first = await twin.aget_tuple(config)  # answered without a query
        later = await twin.aget_tuple(config)
    assert first is None
    assert later is not None
    assert later.config["configurable"]["thread_id"] == exec_id
