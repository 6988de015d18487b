"""Error policies, timeouts, cancellation, human-in-the-loop and sub-workflows."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import pytest
from engine_testkit import CALLS, BlockNode, execute, wf
from langgraph.checkpoint.memory import InMemorySaver

from reporunner.nodes.credentials import ApiKeyCredential
from reporunner.nodes.logging import MASK
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.engine.compile import CompiledWorkflow, compile_workflow
from reporunner.platform.engine.definition import parse_definition
from reporunner.platform.engine.durable_run import run_execution
from reporunner.platform.engine.hooks import RecordingHooks
from reporunner.platform.engine.subworkflow import InProcessSubWorkflows


def _id() -> str:
    return uuid.uuid4().hex


def _with_fail(policy: dict[str, Any], **fail_params: Any) -> dict[str, Any]:
    nodes = [
        {"id": "start", "type": "t.trigger"},
        {"id": "flaky", "type": "t.fail", "params": fail_params, "error_policy": policy},
        {"id": "ok", "type": "t.set", "params": {"values": {"ok": True}}},
    ]
    edges = ["start->flaky", "flaky->ok"]
    if policy.get("on_error") == "error_port":
        nodes.append({"id": "handler", "type": "t.set", "params": {"values": {"handled": True}}})
        edges.append("flaky.error->handler")
    return wf(nodes, edges)


async def test_retry_with_backoff_then_success(registry: NodeRegistry) -> None:
    exec_id = _id()
    definition = _with_fail(
        {"retries": 2, "backoff_seconds": 0.001, "backoff_factor": 2}, fail_times=2
    )
    result, hooks = await execute(registry, definition, exec_id)
    assert result.status == "succeeded", result.error
    assert CALLS[f"{exec_id}:flaky"] == 3
    failed = [d for kind, n, d in hooks.calls if kind == "failed" and n == "flaky"]
    assert [(d["attempt"], d["final"]) for d in failed] == [(1, False), (2, False)]
    assert hooks.finished("flaky")[0]["attempt"] == 3
    assert result.outputs["ok"]["main"] == [{"n": 1, "ok": True}]


async def test_stop_fails_the_execution_after_retries(registry: NodeRegistry) -> None:
    exec_id = _id()
    definition = _with_fail({"retries": 1, "backoff_seconds": 0}, fail_times=5)
    result, hooks = await execute(registry, definition, exec_id)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["node"] == "flaky"
    assert "503" in result.error["message"]
    assert CALLS[f"{exec_id}:flaky"] == 2
    assert "ok" not in hooks.ran()
    assert hooks.events[-1] == (
        "execution.finished",
        {"execution_id": exec_id, "status": "failed", "error": result.error},
    )


async def test_non_retryable_errors_are_not_retried(registry: NodeRegistry) -> None:
    exec_id = _id()
    definition = _with_fail({"retries": 3, "backoff_seconds": 0}, retryable=False)
    result, _ = await execute(registry, definition, exec_id)
    assert result.status == "failed"
    assert CALLS[f"{exec_id}:flaky"] == 1


async def test_continue_sends_an_error_item_on_main(registry: NodeRegistry) -> None:
    definition = _with_fail({"on_error": "continue"})
    result, _ = await execute(registry, definition, _id())
    assert result.status == "succeeded"
    [item] = result.outputs["ok"]["main"]
    assert item["error"]["node"] == "flaky"
    assert item["item"] == {"n": 1}
    assert item["ok"] is True


async def test_error_port_routes_the_error_item(registry: NodeRegistry) -> None:
    definition = _with_fail({"on_error": "error_port"})
    result, hooks = await execute(registry, definition, _id())
    assert result.status == "succeeded"
    [item] = result.outputs["handler"]["main"]
    assert item["handled"] is True
    assert "503" in item["error"]["message"]
    assert "ok" not in hooks.ran()


async def test_node_timeout_fails_the_attempt(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "slow", "type": "t.block", "error_policy": {"timeout_seconds": 0.05}},
        ],
        ["start->slow"],
    )
    result, _ = await execute(registry, definition, _id())
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "node_timeout"
    assert "timeout_seconds" in result.error["message"]


async def test_execution_timeout(registry: NodeRegistry) -> None:
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "slow", "type": "t.block"}],
        ["start->slow"],
        timeout_seconds=1.0,
    )
    result, hooks = await execute(registry, definition, _id())
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "execution_timeout"
    assert result.outputs["start"]["main"] == [{"n": 1}]
    assert hooks.events[-1][1]["status"] == "failed"


async def test_cancellation_stops_a_running_execution(registry: NodeRegistry) -> None:
    exec_id = _id()
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "slow", "type": "t.block"},
            {"id": "after", "type": "t.set"},
        ],
        ["start->slow", "slow->after"],
    )
    cancel = asyncio.Event()
    started = BlockNode.started.setdefault(exec_id, asyncio.Event())
    task = asyncio.ensure_future(execute(registry, definition, exec_id, cancel_event=cancel))
    await asyncio.wait_for(started.wait(), timeout=10)
    cancel.set()
    result, hooks = await asyncio.wait_for(task, timeout=10)
    assert result.status == "cancelled"
    assert "after" not in hooks.ran()
    assert hooks.events[-1][1]["status"] == "cancelled"


async def test_cancel_before_start_runs_nothing(registry: NodeRegistry) -> None:
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"]
    )
    cancel = asyncio.Event()
    cancel.set()
    result, hooks = await execute(registry, definition, _id(), cancel_event=cancel)
    assert result.status == "cancelled"
    assert hooks.ran() == []


async def test_interrupt_waits_and_resume_continues(registry: NodeRegistry) -> None:
    exec_id = _id()
    saver = InMemorySaver()
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "before", "type": "t.set", "params": {"values": {"b": 1}}},
            {"id": "approve", "type": "t.approval"},
            {"id": "after", "type": "t.set", "params": {"values": {"a": 1}}},
        ],
        ["start->before", "before->approve", "approve->after"],
    )
    first, _ = await execute(registry, definition, exec_id, checkpointer=saver)
    assert first.status == "waiting"
    assert first.waiting_payload == {"node_id": "approve", "question": "ship it?"}
    again, _ = await execute(registry, definition, exec_id, checkpointer=saver)
    assert again.status == "waiting"  # no resume value: still parked, nothing re-ran
    assert CALLS[f"{exec_id}:before"] == 1
    done, hooks = await execute(registry, definition, exec_id, checkpointer=saver, resume="yes")
    assert done.status == "succeeded", done.error
    assert done.outputs["after"]["main"] == [{"n": 1, "b": 1, "approved": "yes", "a": 1}]
    assert CALLS[f"{exec_id}:before"] == 1
    assert hooks.ran() == ["approve", "after"]


async def test_credentials_reach_the_node_and_secrets_are_masked(
    registry: NodeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"sk-very-secret-{uuid.uuid4().hex[:12]}"
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {
                "id": "leak",
                "type": "t.leaky",
                "credentials": {"api_key": "cred-1"},
                "error_policy": {"on_error": "continue"},
            },
        ],
        ["start->leak"],
    )
    caplog.set_level(logging.WARNING, logger="reporunner.engine")
    result, hooks = await execute(
        registry, definition, _id(), credentials={"cred-1": ApiKeyCredential(api_key=secret)}
    )
    assert result.status == "succeeded"
    [item] = result.outputs["leak"]["main"]
    assert item["error"]["message"] == f"server refused key {MASK}"
    assert secret not in repr(hooks.calls) + repr(hooks.events)
    assert "calling with key" in caplog.text
    assert secret not in caplog.text


def _compiled(registry: NodeRegistry, definition: dict[str, Any]) -> CompiledWorkflow:
    return compile_workflow(parse_definition(definition), registry)


async def test_subworkflow_runs_a_child_and_returns_its_items(registry: NodeRegistry) -> None:
    child = _compiled(
        registry,
        wf(
            [
                {"id": "start", "type": "t.trigger"},
                {"id": "double", "type": "t.set", "params": {"values": {"d": "{{ item.v * 2 }}"}}},
            ],
            ["start->double"],
        ),
    )
    parent = _compiled(
        registry,
        wf(
            [
                {"id": "start", "type": "t.trigger"},
                {"id": "call", "type": "t.sub", "params": {"workflow_id": "child"}},
            ],
            ["start->call"],
        ),
    )

    async def load(workflow_id: str) -> CompiledWorkflow:
        assert workflow_id == "child"
        return child

    saver = InMemorySaver()
    exec_id = _id()
    service = InProcessSubWorkflows(load, exec_id, "ws", saver, max_depth=2)
    result = await run_execution(
        parent,
        execution_id=exec_id,
        workspace_id="ws",
        trigger={},
        trigger_items=[{"v": 2}],
        checkpointer=saver,
        hooks=RecordingHooks(),
        services={"subworkflow": service},
    )
    assert result.status == "succeeded", result.error
    assert result.outputs["call"]["main"] == [{"v": 2, "d": 4}]


async def test_each_subworkflow_call_gets_its_own_child_execution(
    registry: NodeRegistry,
) -> None:
    child = _compiled(
        registry,
        wf(
            [
                {"id": "start", "type": "t.trigger"},
                {"id": "inc", "type": "t.set", "params": {"values": {"v": "{{ item.v + 1 }}"}}},
            ],
            ["start->inc"],
        ),
    )

    async def load(workflow_id: str) -> CompiledWorkflow:
        return child

    saver = InMemorySaver()
    exec_id = _id()

    class FreshServicePerCall:
        """Like the platform's service: a new InProcessSubWorkflows for every call."""

        async def run(self, workflow_id: str, items: list[Any]) -> list[Any]:
            inline = InProcessSubWorkflows(load, exec_id, "ws", saver, max_depth=2)
            return await inline.run(workflow_id, items)

    parent = _compiled(
        registry,
        wf(
            [
                {"id": "start", "type": "t.trigger"},
                {"id": "first", "type": "t.sub", "params": {"workflow_id": "child"}},
                {"id": "second", "type": "t.sub", "params": {"workflow_id": "child"}},
            ],
            ["start->first", "first->second"],
        ),
    )
    result = await run_execution(
        parent,
        execution_id=exec_id,
        workspace_id="ws",
        trigger={},
        trigger_items=[{"v": 0}],
        checkpointer=saver,
        hooks=RecordingHooks(),
        services={"subworkflow": FreshServicePerCall()},
    )
    assert result.status == "succeeded", result.error
    assert result.outputs["second"]["main"] == [{"v": 2}]
    children = sorted(k for k in CALLS if k.startswith(f"{exec_id}.sub.") and k.endswith(":inc"))
    assert children == [
        f"{exec_id}.sub.first.r1.i0.1:inc",
        f"{exec_id}.sub.second.r1.i0.1:inc",
    ]


async def test_subworkflow_depth_is_bounded(registry: NodeRegistry) -> None:
    recursive = _compiled(
        registry,
        wf(
            [
                {"id": "start", "type": "t.trigger"},
                {"id": "again", "type": "t.sub", "params": {"workflow_id": "self"}},
            ],
            ["start->again"],
            max_subworkflow_depth=3,
        ),
    )

    async def load(workflow_id: str) -> CompiledWorkflow:
        return recursive

    saver = InMemorySaver()
    exec_id = _id()
    service = InProcessSubWorkflows(load, exec_id, "ws", saver, max_depth=3)
    result = await run_execution(
        recursive,
        execution_id=exec_id,
        workspace_id="ws",
        trigger={},
        checkpointer=saver,
        hooks=RecordingHooks(),
        services={"subworkflow": service},
    )
    assert result.status == "failed"
    assert result.error is not None
    assert "max_subworkflow_depth=3" in result.error["message"]
    levels = [k for k in CALLS if k.startswith(exec_id) and k.endswith(":again")]
    assert len(levels) == 4  # the root and three nested levels; the fourth was refused


async def test_running_a_failed_execution_again_retries_from_the_failed_node(
    registry: NodeRegistry,
) -> None:
    exec_id = _id()
    saver = InMemorySaver()
    definition = _with_fail({"retries": 0}, fail_times=1)
    failed, _ = await execute(registry, definition, exec_id, checkpointer=saver)
    assert failed.status == "failed"
    again, hooks = await execute(registry, definition, exec_id, checkpointer=saver)
    assert again.status == "succeeded", again.error
    assert hooks.ran() == ["flaky", "ok"]
    assert CALLS[f"{exec_id}:start"] == 1


async def test_approval_on_one_branch_of_a_fan_out_then_merge(registry: NodeRegistry) -> None:
    exec_id = _id()
    saver = InMemorySaver()
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "approve", "type": "t.approval"},
            {"id": "other", "type": "t.set", "params": {"values": {"other": True}}},
            {"id": "other2", "type": "t.set"},
            {"id": "join", "type": "t.merge"},
        ],
        [
            "start->approve",
            "start->other",
            "other->other2",
            "approve->join.in1",
            "other2->join.in2",
        ],
    )
    waiting, first = await execute(registry, definition, exec_id, checkpointer=saver)
    assert waiting.status == "waiting"
    assert "join" not in first.ran()
    done, hooks = await execute(registry, definition, exec_id, checkpointer=saver, resume="ok")
    assert done.status == "succeeded", done.error
    assert done.outputs["join"]["main"] == [{"n": 1, "approved": "ok"}, {"n": 1, "other": True}]
    assert CALLS[f"{exec_id}:other"] == 1
    assert hooks.ran().count("join") == 1


async def test_an_expression_that_fails_at_run_time_fails_the_node_clearly(
    registry: NodeRegistry,
) -> None:
    exec_id = _id()
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {
                "id": "a",
                "type": "t.set",
                "params": {"values": {"x": "{{ item.missing.deeper }}"}},
                "error_policy": {"retries": 3, "backoff_seconds": 0},
            },
        ],
        ["start->a"],
    )
    result, _ = await execute(registry, definition, exec_id, trigger={"n": 1})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["node"] == "a"
    assert result.error["code"] == "expression_error"
    assert "missing" in result.error["message"]
    assert CALLS[f"{exec_id}:a"] == 0  # never called, and not retried: the data must change
