"""Chats grounded in a knowledge base (citations over SSE) and chats bound to a workflow with a
Chat trigger (the turns are answered by a worker, their events relayed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import create_async_engine
from sse_testkit import sse
from worker_testkit import ThreadWorker

from reporunner.agents.testing import (
    Reply,
    ScriptedLLM,
    ScriptedRequest,
    Stream,
    scripted_llm,
    tool_call,
)
from reporunner.knowledge import KnowledgeStore, StoreKnowledgeService
from reporunner.platform.api.app import create_app
from reporunner.platform.settings import Settings


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture
def tuned(settings: Settings) -> Settings:
    return settings.model_copy(update={"queue_name": f"test:chat:{uuid.uuid4().hex}"})


async def test_grounded_answers_carry_citations(
    tenant_factory: Any, llm: ScriptedLLM, services: Any, tuned: Settings
) -> None:
    with ThreadWorker(tuned):
        async with AsyncTestClient(create_app(tuned)) as client:
            await _grounded(client, tenant_factory, llm, services)


async def _grounded(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM, services: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    engine = create_async_engine(services.database_url, pool_size=1)
    try:
        knowledge = StoreKnowledgeService(KnowledgeStore(engine))
        await knowledge.ingest(
            str(tenant.workspace_id),
            "handbook",
            "refunds.md",
            b"# Refunds\n\nRefunds are paid back within 5 working days.\n",
            create=True,
        )
    finally:
        await engine.dispose()
    created = await client.post(
        "/chats",
        json={
            "agent": {
                "model": "scripted/rag",
                "tools": [{"kind": "knowledge", "knowledge_bases": ["handbook"]}],
            }
        },
        headers=tenant.headers,
    )
    chat = created.json()["id"]

    def answer(request: ScriptedRequest) -> Reply:
        passages = next(m for m in request.messages if m["role"] == "tool")["content"]
        assert "within 5 working days" in passages
        return Reply("Refunds take 5 working days [1].")

    llm.plan(Reply(tool_calls=[tool_call("knowledge_search", {"query": "refund time"})]), answer)
    response = await client.post(
        f"/chats/{chat}/messages", json={"content": "How long do refunds take?"},
        headers=tenant.headers,
    )  # fmt: skip
    events = sse(response.text)
    names = [n for n, _ in events]
    assert names[-2:] == ["citations", "final"]
    citation = events[-2][1]["citations"][0]
    assert citation["document_name"] == "refunds.md"
    assert citation["heading_path"] == ["Refunds"]
    assert uuid.UUID(citation["chunk_id"])
    result = next(d for n, d in events if n == "tool_result")
    assert result["citations"][0]["chunk_id"] == citation["chunk_id"]
    stored = (await client.get(f"/chats/{chat}/messages", headers=tenant.headers)).json()
    assert stored["items"][1]["citations"][0]["chunk_id"] == citation["chunk_id"]


async def test_a_chat_workflow_runs_on_a_worker_and_streams(
    tuned: Settings, tenant_factory: Any, llm: ScriptedLLM
) -> None:
    tenant = await tenant_factory(role="editor")
    definition = {
        "name": "support chat",
        "nodes": [
            {"id": "chat", "type": "trigger.chat"},
            {
                "id": "agent",
                "type": "ai.agent",
                "params": {
                    "model": "scripted/wf-chat",
                    "prompt": "{{ trigger.message }}",
                    "history": "{{ trigger.history }}",
                    "stream": True,
                },
            },
        ],
        "edges": [{"source": "chat", "target": "agent"}],
    }
    llm.plan(Stream(["Hi ", "from the workflow."], prompt_tokens=12, completion_tokens=4))
    async with AsyncTestClient(create_app(tuned)) as client:
        made = await client.post("/workflows", json=definition, headers=tenant.headers)
        assert made.status_code == 201, made.text
        workflow_id = made.json()["workflow"]["id"]
        created = await client.post(
            "/chats", json={"workflow_id": workflow_id}, headers=tenant.headers
        )
        assert created.status_code == 201, created.text
        chat = created.json()["id"]
        with ThreadWorker(tuned):
            response = await client.post(
                f"/chats/{chat}/messages", json={"content": "hello"}, headers=tenant.headers
            )
        history = (await client.get(f"/chats/{chat}/messages", headers=tenant.headers)).json()
    events = sse(response.text)
    names = [n for n, _ in events]
    assert names[:2] == ["message", "execution"]
    assert [d["text"] for n, d in events if n == "token"] == ["Hi ", "from the workflow."]
    assert names[-1] == "final", events[-1]
    final = events[-1][1]["message"]
    assert final["content"] == "Hi from the workflow."
    assert final["execution_id"] == events[1][1]["execution_id"]
    assert (final["tokens_in"], final["tokens_out"]) == (12, 4)  # summed on the execution
    assert llm.requests[0].messages[-1] == {"role": "user", "content": "hello"}
    assert [m["role"] for m in history["items"]] == ["user", "assistant"]
