"""The knowledge nodes inside real executions: the engine offers the workspace's knowledge."""

from __future__ import annotations

import uuid
from typing import Any

from reporunner.nodes.registry import default_registry
from reporunner.platform.db.models.workflows import Execution
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import start_execution
from reporunner.platform.knowledge import IncomingFile
from reporunner.platform.knowledge import service as kb
from reporunner.platform.knowledge.schemas import KnowledgeBaseCreate
from reporunner.platform.resources import Resources
from reporunner.platform.workflows import create_workflow

TRIGGER = {"id": "start", "type": "trigger.manual"}


def _flow(name: str, node: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [TRIGGER, node],
        "edges": [{"source": "start", "target": node["id"]}],
        "settings": {},
    }


SEARCH = _flow(
    "ask",
    {
        "id": "search",
        "type": "knowledge.search",
        "params": {"knowledge_base": "faq", "query": "{{ trigger.question }}", "top_k": 2},
    },
)
INGEST = _flow(
    "remember",
    {
        "id": "ingest",
        "type": "knowledge.ingest",
        "params": {
            "knowledge_base": "notes",
            "name": "{{ trigger.title }}.md",
            "content": "{{ trigger.body }}",
            "create": True,
        },
    },
)


async def _row(resources: Resources, execution_id: uuid.UUID) -> Execution:
    async with resources.sessions() as session:
        row = await session.get(Execution, execution_id, populate_existing=True)
        assert row is not None
        return row


async def _run(
    resources: Resources, drain: Any, workspace_id: uuid.UUID, flow: dict[str, Any], trigger: Any
) -> Execution:
    async with transaction(resources.sessions) as db:
        workflow, _ = await create_workflow(db, workspace_id, flow, default_registry())
    started = await start_execution(resources, workspace_id, workflow.id, trigger)
    await drain()
    return await _row(resources, started.id)


async def test_workflows_search_and_ingest_their_own_workspace(
    kb_resources: Resources, drain_queue: Any, tenant_factory: Any
) -> None:
    owner, stranger = await tenant_factory(), await tenant_factory()
    base = await kb.create_base(kb_resources, owner.workspace_id, KnowledgeBaseCreate(name="faq"))
    faq = IncomingFile("faq.md", b"# Refunds\n\nRefunds are paid within 14 days.\n", "upload")
    await kb.upload_documents(kb_resources, owner.workspace_id, base.id, [faq])
    await drain_queue()  # ingested before the workflow asks

    asked = await _run(
        kb_resources, drain_queue, owner.workspace_id, SEARCH, {"question": "refund delay"}
    )
    assert asked.status == "succeeded", asked.error
    assert asked.result is not None
    [item] = asked.result["final_items"]
    assert item["results"][0]["document_name"] == "faq.md"
    assert "[1] (faq.md, Refunds)" in item["context"]

    foreign = await _run(
        kb_resources, drain_queue, stranger.workspace_id, SEARCH, {"question": "refund delay"}
    )
    assert foreign.status == "failed"
    assert foreign.error is not None
    assert "does not exist in this workspace" in foreign.error["message"]

    wrote = await _run(
        kb_resources,
        drain_queue,
        stranger.workspace_id,
        INGEST,
        {"title": "standup", "body": "# Standup\n\nThe release moves to Friday.\n"},
    )
    assert wrote.status == "succeeded", wrote.error
    assert wrote.result is not None
    [written] = wrote.result["final_items"]
    assert written["status"] == "ready"
    async with transaction(kb_resources.sessions) as db:
        [notes] = await kb.list_bases(db, stranger.workspace_id)
    assert notes.name == "notes"
    async with transaction(kb_resources.sessions) as db:
        assert [b.name for b in await kb.list_bases(db, owner.workspace_id)] == ["faq"]
