"""An agent's tool calls are node runs of their own, next to the agent node's run."""

from __future__ import annotations

from sqlalchemy import select

from reporunner.platform.db.models.workflows import NodeRun
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import DatabaseHooks, EventSink, start_execution
from reporunner.platform.workflows import create_workflow

FLOW = {
    "name": "agentish",
    "nodes": [{"id": "start", "type": "trigger.manual"}],
    "edges": [],
}


async def test_tool_calls_become_node_runs(resources, tenant_factory) -> None:
    from exec_testnodes import registry_with_test_nodes

    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, FLOW, registry_with_test_nodes())
    out = await start_execution(resources, tenant.workspace_id, wf.id, {})
    hooks = DatabaseHooks(
        sessions=resources.sessions,
        events=EventSink(resources.redis, str(out.id)),
        execution_id=out.id,
        workspace_id=tenant.workspace_id,
        node_types={"agent": "ai.agent"},
    )
    await hooks.node_started("agent", run=1, inputs={"main": [{}]})
    base = {"node_id": "agent"}
    steps = [
        ("node.tool_call", {"call_id": "c1", "tool": "lookup", "arguments": {"q": "x"}}),
        ("node.tool_result", {"call_id": "c1", "tool": "lookup", "ok": True, "output": "found",
                              "duration_ms": 3.5}),
        ("node.tool_call", {"call_id": "c2", "tool": "broken", "arguments": {}}),
        ("node.tool_result", {"call_id": "c2", "tool": "broken", "ok": False, "error": "boom",
                              "duration_ms": 1.0}),
    ]  # fmt: skip
    for event, data in steps:
        await hooks.publish(event, {**base, **data})
    await hooks.node_finished("agent", run=1, outputs={"main": [{}]}, duration=0.1, attempt=1)
    await hooks.close()
    async with resources.sessions() as session:
        rows = (
            (await session.execute(select(NodeRun).where(NodeRun.execution_id == out.id)))
            .scalars()
            .all()
        )
    by_node = {r.node_id: r for r in rows}
    assert set(by_node) == {"agent", "agent/tool:lookup", "agent/tool:broken"}
    ok, bad = by_node["agent/tool:lookup"], by_node["agent/tool:broken"]
    assert (ok.status, ok.node_type, ok.duration_ms) == ("succeeded", "tool:lookup", 3.5)
    assert ok.input == {"arguments": [{"q": "x"}]}
    assert ok.output == {"main": [{"output": "found"}]}
    assert (bad.status, bad.error) == ("failed", {"message": "boom"})
    assert by_node["agent"].status == "succeeded"
