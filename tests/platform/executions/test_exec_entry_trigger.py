"""A run starts at the trigger of its kind: in a workflow with a Schedule, a Manual and a Webhook
trigger, a manual run goes through the Manual trigger's branch only, whatever the node order."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from reporunner.nodes.errors import ValidationFailed
from reporunner.nodes.registry import default_registry
from reporunner.platform.db.models.workflows import Execution, NodeRun
from reporunner.platform.db.session import transaction
from reporunner.platform.engine import entry_trigger
from reporunner.platform.executions import start_execution
from reporunner.platform.resources import Resources
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow


def _mark(node_id: str, source: str) -> dict:
    field = {"name": "via", "value": source}
    return {"id": node_id, "type": "data.set", "params": {"fields": [field]}}


FLOW = {
    "name": "three doors",
    "nodes": [
        {"id": "nightly", "type": "trigger.schedule", "params": {"cron": "0 3 * * *"}},
        {
            "id": "by_hand",
            "type": "trigger.manual",
            "params": {"input_schema": {"type": "object", "required": ["who"]}},
        },
        {"id": "hook", "type": "trigger.webhook", "params": {"path": "doors"}},
        _mark("from_schedule", "schedule"),
        _mark("from_manual", "manual"),
        _mark("from_webhook", "webhook"),
    ],
    "edges": [
        {"source": "nightly", "target": "from_schedule"},
        {"source": "by_hand", "target": "from_manual"},
        {"source": "hook", "target": "from_webhook"},
    ],
}


def test_entry_trigger_prefers_the_runs_kind_then_the_first() -> None:
    order = [("nightly", "trigger.schedule"), ("by_hand", "trigger.manual")]
    assert entry_trigger(order, "manual") == "by_hand"
    assert entry_trigger(order, "schedule") == "nightly"
    assert entry_trigger(order, "subworkflow") == "nightly"  # no kind of its own: the first
    assert entry_trigger([], "manual") is None


async def test_a_manual_run_starts_at_the_manual_trigger(
    resources: Resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, FLOW, default_registry())
    # the Manual trigger's declared input is checked, not the Schedule trigger's (none)
    with pytest.raises(ValidationFailed):
        await start_execution(resources, tenant.workspace_id, wf.id, {"nobody": 1})
    out = await start_execution(resources, tenant.workspace_id, wf.id, {"who": "ada"})
    await build_worker(resources, burst=True, handle_signals=False).main()
    async with resources.sessions() as session:
        row = await session.get(Execution, uuid.UUID(str(out.id)), populate_existing=True)
        assert row is not None
        assert row.status == "succeeded", row.error
        ran = set(
            (
                await session.scalars(select(NodeRun.node_id).where(NodeRun.execution_id == row.id))
            ).all()
        )
    assert ran == {"by_hand", "from_manual"}
