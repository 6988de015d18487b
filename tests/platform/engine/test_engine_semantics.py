"""Data-flow semantics n8n users expect, one by one (InMemorySaver; no database needed)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from engine_testkit import CALLS, execute, wf

from reporunner.nodes.errors import ValidationFailed
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.engine import (
    RecordingHooks,
    compile_workflow,
    parse_definition,
    run_execution,
)


def _id() -> str:
    return uuid.uuid4().hex


def _branching(if_to_merge: bool = True) -> dict[str, Any]:
    return wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "check", "type": "t.if", "params": {"field": "n", "equals": 1}},
            {"id": "yes", "type": "t.set", "params": {"values": {"branch": "yes"}}},
            {"id": "no", "type": "t.set", "params": {"values": {"branch": "no"}}},
            {"id": "join", "type": "t.merge"},
            {"id": "after", "type": "t.set", "params": {"values": {"after": True}}},
        ],
        [
            "start->check",
            "check.true->yes",
            "check.false->no",
            "yes->join.in1",
            "no->join.in2",
            "join->after",
        ],
    )


async def test_sequential_data_passing(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "a", "type": "t.set", "params": {"values": {"a": 1}}},
            {"id": "b", "type": "t.set", "params": {"values": {"b": 2}}},
        ],
        ["start->a", "a->b"],
    )
    result, hooks = await execute(registry, definition, _id(), trigger={"n": 7})
    assert result.status == "succeeded"
    assert result.outputs["b"]["main"] == [{"n": 7, "a": 1, "b": 2}]
    assert result.final_items == [{"n": 7, "a": 1, "b": 2}]
    assert hooks.ran() == ["start", "a", "b"]


async def test_expressions_read_earlier_nodes_trigger_item_and_vars(
    registry: NodeRegistry,
) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "a", "type": "t.set", "params": {"values": {"x": 41}}},
            {
                "id": "b",
                "type": "t.set",
                "params": {
                    "values": {
                        "from_a": "{{ nodes.a.output.x + 1 }}",
                        "from_trigger": "{{ trigger.n }}",
                        "from_item": "{{ item.x }}",
                        "from_vars": "{{ vars.greeting }}",
                    }
                },
            },
        ],
        ["start->a", "a->b"],
        vars={"greeting": "hi"},
    )
    result, _ = await execute(registry, definition, _id(), trigger={"n": 3})
    assert result.status == "succeeded", result.error
    assert result.outputs["b"]["main"] == [
        {"n": 3, "x": 41, "from_a": 42, "from_trigger": 3, "from_item": 41, "from_vars": "hi"}
    ]


async def test_each_node_renders_params_per_item(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "a", "type": "t.set", "params": {"values": {"double": "{{ item.v * 2 }}"}}},
        ],
        ["start->a"],
    )
    result, _ = await execute(
        registry, definition, _id(), trigger_items=[{"v": 1}, {"v": 2}, {"v": 3}]
    )
    assert [i["double"] for i in result.outputs["a"]["main"]] == [2, 4, 6]


async def test_if_routes_and_skips_the_branch_without_items(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "check", "type": "t.if", "params": {"field": "n", "equals": 1}},
            {"id": "yes", "type": "t.set", "params": {"values": {"branch": "yes"}}},
            {"id": "no", "type": "t.set", "params": {"values": {"branch": "no"}}},
            {"id": "no_after", "type": "t.set"},
        ],
        ["start->check", "check.true->yes", "check.false->no", "no->no_after"],
    )
    result, hooks = await execute(registry, definition, _id(), trigger={"n": 1})
    assert result.status == "succeeded"
    assert result.outputs["yes"]["main"] == [{"n": 1, "branch": "yes"}]
    assert "no" not in result.outputs
    assert "no_after" not in hooks.ran()


async def test_switch_routes_each_item_to_its_port(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "sw", "type": "t.switch", "params": {"field": "kind", "cases": ["a", "b"]}},
            {"id": "on_a", "type": "t.set", "params": {"values": {"seen": "a"}}},
            {"id": "on_b", "type": "t.set", "params": {"values": {"seen": "b"}}},
            {"id": "other", "type": "t.set", "params": {"values": {"seen": "other"}}},
        ],
        ["start->sw", "sw.a->on_a", "sw.b->on_b", "sw.fallback->other"],
    )
    items = [{"kind": "a"}, {"kind": "x"}, {"kind": "a"}]
    result, hooks = await execute(registry, definition, _id(), trigger_items=items)
    assert result.status == "succeeded"
    assert [i["seen"] for i in result.outputs["on_a"]["main"]] == ["a", "a"]
    assert result.outputs["other"]["main"] == [{"kind": "x", "seen": "other"}]
    assert "on_b" not in hooks.ran()


async def test_merge_after_if_fires_for_the_branch_that_ran(registry: NodeRegistry) -> None:
    for n, branch in ((1, "yes"), (2, "no")):
        result, hooks = await execute(registry, _branching(), _id(), trigger={"n": n})
        assert result.status == "succeeded"
        assert result.outputs["join"]["main"] == [{"n": n, "branch": branch}]
        assert result.outputs["after"]["main"] == [{"n": n, "branch": branch, "after": True}]
        assert hooks.ran().count("join") == 1


async def test_merge_after_fan_out_waits_for_every_branch(registry: NodeRegistry) -> None:
    # The in2 branch is two nodes longer, so a naive join would fire before it arrives.
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "short", "type": "t.set", "params": {"values": {"side": "short"}}},
            {"id": "l1", "type": "t.set", "params": {"values": {"side": "long"}}},
            {"id": "l2", "type": "t.set"},
            {"id": "l3", "type": "t.set"},
            {"id": "join", "type": "t.merge", "params": {"mode": "append"}},
        ],
        ["start->short", "start->l1", "l1->l2", "l2->l3", "short->join.in1", "l3->join.in2"],
    )
    result, hooks = await execute(registry, definition, _id(), trigger={"n": 1})
    assert result.status == "succeeded"
    assert [i["side"] for i in result.outputs["join"]["main"]] == ["short", "long"]
    assert hooks.ran().count("join") == 1


async def test_merge_by_key_and_by_position(registry: NodeRegistry) -> None:
    def definition(mode: str) -> dict[str, Any]:
        return wf(
            [
                {"id": "start", "type": "t.trigger"},
                {"id": "left", "type": "t.set", "params": {"values": {"l": True}}},
                {"id": "right", "type": "t.set", "params": {"values": {"r": True}}},
                {"id": "join", "type": "t.merge", "params": {"mode": mode, "key": "id"}},
            ],
            ["start->left", "start->right", "left->join.in1", "right->join.in2"],
        )

    items = [{"id": 1}, {"id": 2}]
    by_key, _ = await execute(registry, definition("by_key"), _id(), trigger_items=items)
    assert by_key.outputs["join"]["main"] == [
        {"id": 1, "l": True, "r": True},
        {"id": 2, "l": True, "r": True},
    ]
    by_pos, _ = await execute(registry, definition("by_position"), _id(), trigger_items=items)
    assert by_pos.outputs["join"]["main"] == by_key.outputs["join"]["main"]


async def test_merge_in_mixed_branch_and_fan_out(registry: NodeRegistry) -> None:
    # join waits for the fan-out branch 'side' but not for the If branch that did not run.
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "check", "type": "t.if", "params": {"field": "n", "equals": 1}},
            {"id": "yes", "type": "t.set", "params": {"values": {"y": 1}}},
            {"id": "no", "type": "t.set", "params": {"values": {"no": 1}}},
            {"id": "side", "type": "t.set", "params": {"values": {"s": 1}}},
            {"id": "side2", "type": "t.set"},
            {"id": "join", "type": "t.merge"},
        ],
        [
            "start->check",
            "start->side",
            "side->side2",
            "check.true->yes",
            "check.false->no",
            "yes->join.in1",
            "no->join.in1",
            "side2->join.in2",
        ],
    )
    result, hooks = await execute(registry, definition, _id(), trigger={"n": 1})
    assert result.status == "succeeded"
    assert result.outputs["join"]["main"] == [{"n": 1, "y": 1}, {"n": 1, "s": 1}]
    assert hooks.ran().count("join") == 1


async def test_loop_runs_the_body_per_batch_then_done(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "loop", "type": "logic.loop", "params": {"batch_size": 2}},
            {"id": "body", "type": "t.set", "params": {"values": {"seen": True}}},
            {"id": "after", "type": "t.set"},
        ],
        ["start->loop", "loop.loop->body", "body->loop", "loop.done->after"],
    )
    exec_id = _id()
    items = [{"i": i} for i in range(5)]
    result, hooks = await execute(registry, definition, exec_id, trigger_items=items)
    assert result.status == "succeeded", result.error
    assert result.outputs["after"]["main"] == [{"i": i, "seen": True} for i in range(5)]
    assert hooks.ran().count("body") == 3  # batches of 2, 2, 1
    assert CALLS[f"{exec_id}:body"] == 5  # an "each" node: one call per item
    assert CALLS[f"{exec_id}:loop"] == 4


async def test_loop_is_bounded_by_max_loop_iterations(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "loop", "type": "logic.loop"},
            {"id": "body", "type": "t.set"},
        ],
        ["start->loop", "loop.loop->body", "body->loop"],
        max_loop_iterations=3,
    )
    items = [{"i": i} for i in range(10)]
    result, _ = await execute(registry, definition, _id(), trigger_items=items)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "loop_limit_exceeded"
    assert "max_loop_iterations=3" in result.error["message"]


async def test_idempotency_key_is_execution_node_and_index(registry: NodeRegistry) -> None:
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "k", "type": "t.key"}], ["start->k"]
    )
    exec_id = _id()
    items = [{"a": 1}, {"a": 2}, {"a": 3}]
    result, _ = await execute(registry, definition, exec_id, trigger_items=items)
    # an "each" node is called per item; idempotency_key(0) names the item of that call
    assert result.outputs["k"]["main"] == [{"key": f"{exec_id}:k:{i}"} for i in range(3)]


async def test_an_output_over_the_limit_fails_the_node_naming_the_setting(
    registry: NodeRegistry,
) -> None:
    # issue fault 8: outputs were cut silently at 1,000,000 bytes and the next node got a marker
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"]
    )
    items = [{"blob": "x" * 100, "i": i} for i in range(50)]
    result, hooks = await execute(
        registry, definition, _id(), trigger_items=items, max_output_bytes=1000
    )
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "output_too_large"
    assert result.error["node"] == "start"
    assert "REPORUNNER_MAX_OUTPUT_BYTES" in result.error["message"]
    assert "a" not in result.outputs  # nothing downstream ran on a cut output
    assert "a" not in hooks.ran()
    assert [c[1] for c in hooks.calls if c[0] == "failed"] == ["start"]


async def test_an_output_within_the_limit_is_handed_on_whole(registry: NodeRegistry) -> None:
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"]
    )
    items = [{"blob": "x" * 100, "i": i} for i in range(50)]
    result, _ = await execute(
        registry, definition, _id(), trigger_items=items, max_output_bytes=100_000
    )
    assert result.status == "succeeded", result.error
    assert result.outputs["start"]["main"] == items


async def test_events_are_published_in_order(registry: NodeRegistry) -> None:
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"]
    )
    _, hooks = await execute(registry, definition, _id())
    names = [e for e, _ in hooks.events]
    assert names == [
        "execution.started",
        "node.started",
        "node.finished",
        "node.started",
        "node.finished",
        "execution.finished",
    ]
    assert hooks.events[-1][1]["status"] == "succeeded"


async def test_runs_without_a_checkpointer(registry: NodeRegistry) -> None:
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"]
    )
    compiled = compile_workflow(parse_definition(definition), registry)
    result = await run_execution(
        compiled,
        execution_id=_id(),
        workspace_id="ws",
        trigger={"n": 2},
        checkpointer=None,
        hooks=RecordingHooks(),
    )
    assert result.status == "succeeded"
    assert result.final_items == [{"n": 2}]


async def test_starting_from_a_node_that_is_not_a_trigger_is_refused(
    registry: NodeRegistry,
) -> None:
    definition = wf(
        [{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"]
    )
    with pytest.raises(ValidationFailed, match="start it from one of: start"):
        await execute(registry, definition, _id(), trigger_node="a")
