"""The engine with the real built-in nodes (trigger.manual, data.set, logic.*)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from engine_testkit import execute, wf
from langgraph.checkpoint.memory import InMemorySaver

from reporunner.nodes.registry import NodeRegistry, load_builtins
from reporunner.platform.engine import (
    CompiledWorkflow,
    InProcessSubWorkflows,
    compile_workflow,
    parse_definition,
)


@pytest.fixture(scope="module")
def builtins() -> NodeRegistry:
    return load_builtins(NodeRegistry())


def _set(node_id: str, name: str, value: Any) -> dict[str, Any]:
    kind = "string" if isinstance(value, str) and "{{" not in value else "json"
    return {
        "id": node_id,
        "type": "data.set",
        "params": {"fields": [{"name": name, "value": value, "type": kind}]},
    }


def _explode_trigger(definition: dict[str, Any]) -> None:
    """Insert a data.split_out after 'start': the trigger's 'rows' become the items."""
    definition["nodes"].append(
        {"id": "explode", "type": "data.split_out", "params": {"field": "rows"}}
    )
    for edge in definition["edges"]:
        if edge["source"] == "start":
            edge["source"] = "explode"
    definition["edges"].append({"source": "start", "target": "explode"})


def _branch_then_merge() -> dict[str, Any]:
    return wf(
        [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "paid",
                "type": "logic.if",
                "params": {
                    "conditions": [
                        {"value": "{{ item.status }}", "operator": "equals", "compare": "paid"}
                    ]
                },
            },
            _set("ship", "action", "ship"),
            _set("remind", "action", "remind"),
            {"id": "join", "type": "logic.merge", "params": {"inputs": 2}},
            _set("done", "done", True),
        ],
        [
            "start->paid",
            "paid.true->ship",
            "paid.false->remind",
            "ship->join.input_1",
            "remind->join.input_2",
            "join->done",
        ],
    )


@pytest.mark.parametrize(("status", "action"), [("paid", "ship"), ("open", "remind")])
async def test_if_then_merge_fires_for_the_branch_that_ran(
    builtins: NodeRegistry, status: str, action: str
) -> None:
    result, hooks = await execute(
        builtins, _branch_then_merge(), uuid.uuid4().hex, trigger={"status": status}
    )
    assert result.status == "succeeded", result.error
    assert result.final_items == [{"status": status, "action": action, "done": True}]
    assert hooks.ran().count("join") == 1


async def test_fan_out_merge_by_key_waits_for_both(builtins: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "trigger.manual"},
            _set("left", "l", "{{ item.id * 10 }}"),
            _set("r1", "r", "{{ item.id + 1 }}"),
            {"id": "r2", "type": "logic.noop"},
            {
                "id": "join",
                "type": "logic.merge",
                "params": {"inputs": 2, "mode": "by_key", "key": "id"},
            },
        ],
        ["start->left", "start->r1", "r1->r2", "left->join.input_1", "r2->join.input_2"],
    )
    result, _ = await execute(builtins, definition, uuid.uuid4().hex, trigger={"id": 4})
    assert result.status == "succeeded", result.error
    assert result.outputs["join"]["main"] == [{"id": 4, "l": 40, "r": 5}]


async def test_loop_over_items_with_the_real_loop_node(builtins: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "explode",
                "type": "data.split_out",
                "params": {"field": "numbers"},
            },
            {"id": "loop", "type": "logic.loop", "params": {"batch_size": 2}},
            _set("square", "square", "{{ item.numbers * item.numbers }}"),
            {"id": "after", "type": "logic.noop"},
        ],
        [
            "start->explode",
            "explode->loop",
            "loop.loop->square",
            "square->loop.continue",
            "loop.done->after",
        ],
    )
    result, hooks = await execute(
        builtins, definition, uuid.uuid4().hex, trigger={"numbers": [1, 2, 3, 4, 5]}
    )
    assert result.status == "succeeded", result.error
    assert [i["square"] for i in result.outputs["after"]["main"]] == [1, 4, 9, 16, 25]
    assert hooks.ran().count("square") == 3


async def test_if_with_items_on_both_branches_merges_both(builtins: NodeRegistry) -> None:
    definition = _branch_then_merge()
    # a longer 'true' branch: the merge must still wait for it
    definition["nodes"].append({"id": "slow", "type": "logic.noop"})
    definition["edges"] = [e for e in definition["edges"] if e["source"] != "ship"]
    definition["edges"] += [
        {"source": "ship", "target": "slow"},
        {"source": "slow", "target": "join", "target_port": "input_1"},
    ]
    _explode_trigger(definition)
    result, hooks = await execute(
        builtins,
        definition,
        uuid.uuid4().hex,
        trigger={"rows": [{"status": "paid"}, {"status": "open"}]},
    )
    assert result.status == "succeeded", result.error
    assert result.final_items == [
        {"status": "paid", "action": "ship", "done": True},
        {"status": "open", "action": "remind", "done": True},
    ]
    assert hooks.ran().count("join") == 1


async def test_switch_routes_with_the_real_node(builtins: NodeRegistry) -> None:
    def route(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "conditions": [{"field": "kind", "operator": "equals", "compare": name}],
        }

    definition = wf(
        [
            {"id": "start", "type": "trigger.manual"},
            {"id": "sw", "type": "logic.switch", "params": {"routes": [route("a"), route("b")]}},
            _set("on_a", "seen", "a"),
            _set("on_b", "seen", "b"),
            _set("other", "seen", "other"),
        ],
        ["start->sw", "sw.a->on_a", "sw.b->on_b", "sw.fallback->other"],
    )
    _explode_trigger(definition)
    result, hooks = await execute(
        builtins, definition, uuid.uuid4().hex, trigger={"rows": [{"kind": "a"}, {"kind": "z"}]}
    )
    assert result.status == "succeeded", result.error
    assert result.outputs["on_a"]["main"] == [{"kind": "a", "seen": "a"}]
    assert result.outputs["other"]["main"] == [{"kind": "z", "seen": "other"}]
    assert "on_b" not in hooks.ran()


def _approval_workflow() -> dict[str, Any]:
    return wf(
        [
            {"id": "start", "type": "trigger.manual"},
            {"id": "ask", "type": "human.approval", "params": {"message": "Refund {{ item.n }}?"}},
            _set("refund", "refunded", True),
            _set("deny", "refunded", False),
        ],
        ["start->ask", "ask.approved->refund", "ask.rejected->deny"],
    )


@pytest.mark.parametrize(("answer", "branch"), [({"approved": True}, "refund"), ("reject", "deny")])
async def test_human_approval_waits_then_routes_the_answer(
    builtins: NodeRegistry, answer: Any, branch: str
) -> None:
    exec_id = uuid.uuid4().hex
    saver = InMemorySaver()
    waiting, _ = await execute(
        builtins, _approval_workflow(), exec_id, checkpointer=saver, trigger={"n": 5}
    )
    assert waiting.status == "waiting"
    assert waiting.waiting_payload["message"] == "Refund 5?"
    assert waiting.waiting_payload["items"] == [{"n": 5}]
    done, hooks = await execute(
        builtins, _approval_workflow(), exec_id, checkpointer=saver, resume=answer
    )
    assert done.status == "succeeded", done.error
    assert hooks.ran() == ["ask", branch]
    assert done.final_items[0]["refunded"] is (branch == "refund")


async def test_logic_stop_fails_the_execution_with_its_message(builtins: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "stop",
                "type": "logic.stop",
                "params": {"message": "order {{ item.id }} has no email", "error_code": "no_email"},
            },
        ],
        ["start->stop"],
    )
    result, _ = await execute(builtins, definition, uuid.uuid4().hex, trigger={"id": 7})
    assert result.status == "failed"
    assert result.error == {
        "node": "stop",
        "code": "workflow_stopped",
        "type": "WorkflowStopped",
        "message": "order 7 has no email",
        "details": {"error_code": "no_email"},
    }


async def test_workflow_execute_runs_a_sub_workflow(builtins: NodeRegistry) -> None:
    child = compile_workflow(
        parse_definition(
            wf(
                [{"id": "start", "type": "trigger.manual"}, _set("mark", "child", True)],
                ["start->mark"],
            )
        ),
        builtins,
    )

    async def load(workflow_id: str) -> CompiledWorkflow:
        assert workflow_id == "wf_child"
        return child

    parent = wf(
        [
            {"id": "start", "type": "trigger.manual"},
            {"id": "call", "type": "workflow.execute", "params": {"workflow_id": "wf_child"}},
        ],
        ["start->call"],
    )
    exec_id = uuid.uuid4().hex
    saver = InMemorySaver()
    service = InProcessSubWorkflows(load, exec_id, "ws", saver, max_depth=1)
    result, _ = await execute(
        builtins,
        parent,
        exec_id,
        checkpointer=saver,
        trigger={"n": 1},
        services={"subworkflow": service},
    )
    assert result.status == "succeeded", result.error
    assert result.outputs["call"]["main"] == [{"n": 1, "child": True}]


def _loop_over(count: int) -> dict[str, Any]:
    return wf(
        [
            {"id": "start", "type": "trigger.manual"},
            {"id": "explode", "type": "data.split_out", "params": {"field": "numbers"}},
            {"id": "loop", "type": "logic.loop"},
            {"id": "body", "type": "logic.noop"},
            {"id": "after", "type": "logic.noop"},
        ],
        ["start->explode", "explode->loop", "loop.loop->body", "body->loop.continue",
         "loop.done->after"],
    )  # fmt: skip


async def test_a_loop_of_exactly_max_loop_iterations_items_runs_at_the_defaults(
    builtins: NodeRegistry,
) -> None:
    # issue fault 9: 1,000 items (batch 1) failed after running all of them, the loop node's
    # 1,001st run (the one that hands on 'done') counted as an iteration
    result, hooks = await execute(
        builtins, _loop_over(1000), uuid.uuid4().hex, trigger={"numbers": list(range(1000))}
    )
    assert result.status == "succeeded", result.error
    assert len(result.outputs["after"]["main"]) == 1000
    assert hooks.ran().count("body") == 1000


async def test_one_item_more_than_max_loop_iterations_fails_naming_the_setting(
    builtins: NodeRegistry,
) -> None:
    definition = _loop_over(0)
    definition["settings"]["max_loop_iterations"] = 20
    definition["nodes"][2]["params"] = {"max_iterations": 100}
    result, _ = await execute(
        builtins, definition, uuid.uuid4().hex, trigger={"numbers": list(range(21))}
    )
    assert result.status == "failed"
    assert result.error is not None
    assert "settings.max_loop_iterations=20" in result.error["message"]
    ok, _ = await execute(
        builtins, definition, uuid.uuid4().hex, trigger={"numbers": list(range(20))}
    )
    assert ok.status == "succeeded", ok.error
