"""ai.agent inside the real engine with the Postgres checkpointer: asking a human parks the
execution, and resuming continues at that tool call without paying for earlier LLM calls or
re-running earlier tools."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from reporunner.agents.nodes import node_classes
from reporunner.agents.testing import Reply, ScriptedLLM, ScriptedRequest, scripted_llm, tool_call
from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.registry import NodeRegistry, load_builtins
from reporunner.platform.engine import (
    RecordingHooks,
    compile_workflow,
    parse_definition,
    postgres_checkpointer,
    run_execution,
)


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


class _Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Inventory(Node[_Empty]):
    type = "test.inventory"
    category = Category.ACTION
    display_name = "Inventory"
    description = "Counts the items in stock (counts its own runs)."
    Params = _Empty
    runs: ClassVar[int] = 0

    async def run(self, ctx: NodeContext, params: _Empty, inputs: NodeInputs) -> NodeOutput:
        Inventory.runs += 1
        return NodeOutput.main([{"in_stock": 3}])


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    registry = load_builtins(NodeRegistry())
    for cls in (*node_classes(), Inventory):
        registry.register(cls)
    return registry


DEFINITION = {
    "name": "agent asks",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {
            "id": "agent",
            "type": "ai.agent",
            "params": {
                "model": "scripted/engine-agent",
                "prompt": "Order {{ trigger.qty }} chairs?",
                "tools": [
                    {"kind": "node", "node_type": "test.inventory", "name": "inventory"},
                    {"kind": "ask_human"},
                ],
            },
        },
    ],
    "edges": [{"source": "start", "target": "agent"}],
}


async def run(registry: NodeRegistry, services: Any, exec_id: str, **kwargs: Any) -> Any:
    hooks = RecordingHooks()
    compiled = compile_workflow(parse_definition(DEFINITION), registry)
    async with postgres_checkpointer(services.pg_dsn) as saver:
        result = await run_execution(
            compiled,
            execution_id=exec_id,
            workspace_id=str(uuid.uuid4()),
            trigger={"qty": 5},
            checkpointer=saver,
            hooks=hooks,
            services={"registry": registry},
            **kwargs,
        )
    return result, hooks


async def test_agent_asks_a_human_and_resumes_where_it_stopped(
    llm: ScriptedLLM, registry: NodeRegistry, services: Any
) -> None:
    def final(request: ScriptedRequest) -> Reply:
        answers = [m["content"] for m in request.messages if m["role"] == "tool"]
        assert answers == ['[{"in_stock": 3}]', '{"answer": "order 3 now"}']
        return Reply("Ordered 3 chairs; 2 back-ordered.")

    llm.plan(
        Reply(tool_calls=[tool_call("inventory", {})]),
        Reply(tool_calls=[tool_call("ask_human", {"question": "Only 3 in stock. Order 3?"})]),
        final,
    )
    Inventory.runs = 0
    exec_id = uuid.uuid4().hex
    waiting, hooks = await run(registry, services, exec_id)
    assert waiting.status == "waiting", waiting.error
    assert waiting.waiting_payload["question"] == "Only 3 in stock. Order 3?"
    assert len(llm.requests) == 2
    calls = [d["tool"] for n, d in hooks.events if n == "node.tool_call"]
    assert calls == ["inventory", "ask_human"]

    done, hooks = await run(registry, services, exec_id, resume={"answer": "order 3 now"})
    assert done.status == "succeeded", done.error
    item = done.outputs["agent"]["main"][0]
    assert item["text"] == "Ordered 3 chairs; 2 back-ordered."
    assert len(llm.requests) == 3  # the first two answers came from the checkpoint
    assert Inventory.runs == 1  # the tool before the question did not run again
    assert [s["tool"] for s in item["tool_calls"]] == ["inventory", "ask_human"]
    assert item["usage"]["calls"] == 3
    usage = [d for n, d in hooks.events if n == "llm.usage"]
    assert usage[-1]["node_id"] == "agent"
    assert usage[-1]["calls"] == 3
