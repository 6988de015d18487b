"""An ``ai.agent`` node in a workflow, run by a real worker, uses the tools of an MCP server the
workspace registered (a real SDK server over streamable HTTP on 127.0.0.1, allowed for this test
only): the tool result reaches the answer, the failing tool's error goes back to the model, and
each call is a node run of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from mcp_client_servers import Served, serve_http
from sqlalchemy import select

from reporunner.agents.testing import Reply, ScriptedLLM, ScriptedRequest, scripted_llm, tool_call
from reporunner.nodes.registry import default_registry
from reporunner.platform import vault
from reporunner.platform.auth import Principal
from reporunner.platform.db.models.workflows import NodeRun
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import get_execution, start_execution
from reporunner.platform.mcp import servers
from reporunner.platform.mcp.schemas import McpServerCreate
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.vault.schemas import CredentialCreate
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow

FLOW = {
    "name": "order desk",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {
            "id": "agent",
            "type": "ai.agent",
            "params": {
                "model": "scripted/mcp-desk",
                "prompt": "Where is order {{ trigger.order }}? Cancel it if you can.",
                "tools": [{"kind": "mcp", "server": "orders"}],
            },
        },
    ],
    "edges": [{"source": "start", "target": "agent"}],
}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve_http() as running:
        yield running


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    tuned = settings.model_copy(
        update={"queue_name": f"test:mcpc:{uuid.uuid4().hex}", "mcp_allow_hosts": "127.0.0.1"}
    )
    opened = await open_resources(tuned)
    yield opened
    await opened.close()


async def test_an_agent_in_a_workflow_uses_mcp_tools(
    resources: Resources, served: Served, llm: ScriptedLLM, tenant_factory
) -> None:
    tenant = await tenant_factory()
    admin = Principal(tenant.workspace_id, tenant.slug, tenant.user_id, "owner")
    async with resources.sessions() as session, session.begin():
        cred = await vault.create_credential(
            session,
            admin,
            CredentialCreate(name="mcp", type="bearer_token", data={"token": "desk-token"}),
            resources.keyring,
        )
        await servers.create_server(
            session,
            resources.settings,
            admin,
            McpServerCreate(name="orders", url=served.url, credential_id=cred.id),
        )

    def answer(request: ScriptedRequest) -> Reply:
        ok, failed = [m["content"] for m in request.messages if m.get("role") == "tool"]
        assert failed.startswith("ERROR: ")
        assert "already shipped" in failed
        return Reply(f"{ok}; it cannot be cancelled any more.")

    llm.plan(
        Reply(
            tool_calls=[
                tool_call("orders__lookup_order", {"order_id": "A7"}, id="l"),
                tool_call("orders__cancel_order", {"order_id": "A7"}, id="c"),
            ]
        ),
        answer,
    )
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, FLOW, default_registry())
    started = await start_execution(resources, tenant.workspace_id, wf.id, {"order": "A7"})
    await build_worker(resources, burst=True, handle_signals=False).main()

    async with transaction(resources.sessions) as db:
        done = await get_execution(db, tenant.workspace_id, started.id)
    assert done.status == "succeeded", done.error
    offered = {t["function"]["name"] for t in llm.requests[0].params["tools"]}
    assert offered == {"orders__lookup_order", "orders__cancel_order"}
    async with resources.sessions() as session:
        rows = (
            await session.scalars(select(NodeRun).where(NodeRun.execution_id == started.id))
        ).all()
    runs = {row.node_id: row for row in rows}
    answer_item = runs["agent"].output["main"][0]
    assert answer_item["text"] == (
        "order A7: shipped on 2026-11-30; it cannot be cancelled any more."
    )
    lookup = runs["agent/tool:orders__lookup_order"]
    cancel = runs["agent/tool:orders__cancel_order"]
    assert (lookup.status, lookup.output) == (
        "succeeded",
        {"main": [{"output": "order A7: shipped on 2026-11-30"}]},
    )
    assert cancel.status == "failed"
    assert "already shipped" in cancel.error["message"]
    assert {h.get("authorization") for h in served.seen_headers} >= {"Bearer desk-token"}
