"""Several items handed to a manual trigger (a sub-workflow call) all flow on."""

from __future__ import annotations

import uuid

from langgraph.checkpoint.memory import InMemorySaver

from reporunner.nodes.registry import default_registry
from reporunner.platform.engine import (
    NullHooks,
    compile_workflow,
    parse_definition,
    run_execution,
)


async def test_every_trigger_item_reaches_the_next_node() -> None:
    definition = parse_definition(
        {
            "name": "fan",
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "pass", "type": "logic.noop"},
            ],
            "edges": [{"source": "start", "target": "pass"}],
        }
    )
    items = [{"n": 1}, {"n": 2}]
    result = await run_execution(
        compile_workflow(definition, default_registry()),
        execution_id=uuid.uuid4().hex,
        workspace_id="ws",
        trigger=items[0],
        trigger_items=items,
        checkpointer=InMemorySaver(),
        hooks=NullHooks(),
    )
    assert result.status == "succeeded", result.error
    assert result.final_items == items
