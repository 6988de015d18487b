"""``/mcp`` beyond the first builder tools, through the official SDK client over real HTTP
(uvicorn on 127.0.0.1): published workflows as tools (listed per workspace with their input
schema — a trigger's declared input_schema as is, enforced before queueing — run by a real
worker), knowledge_search over a document ingested here, create →
validate → update → publish, generate_workflow with the scripted model, and the refusals (a
viewer of the same workspace, another workspace, no key)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from reporunner.agents.copilot.prompt import GENERATE_TOOL
from reporunner.agents.testing import Reply, ScriptedLLM, scripted_llm, tool_call
from reporunner.platform.api.app import create_app
from reporunner.platform.knowledge import knowledge_service
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker

GREET: dict[str, Any] = {
    "name": "Greet a person",
    "description": "Greets someone by name.",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {
            "id": "set",
            "type": "data.set",
            "params": {
                "fields": [{"name": "greeting", "value": "hi {{ trigger.who }}", "type": "string"}]
            },
        },
    ],
    "edges": [{"source": "start", "target": "set"}],
}
CHAT: dict[str, Any] = {
    "name": "Echo chat",
    "description": "Echoes the message.",
    "nodes": [
        {"id": "msg", "type": "trigger.chat"},
        {
            "id": "set",
            "type": "data.set",
            "params": {"fields": [{"name": "echo", "value": "{{ trigger.message }}"}]},
        },
    ],
    "edges": [{"source": "msg", "target": "set"}],
}
HOOK: dict[str, Any] = {
    "name": "Order hook",
    "description": "Takes an order.",
    "nodes": [
        {"id": "hook", "type": "trigger.webhook", "params": {"path": "orders/new"}},
        {
            "id": "set",
            "type": "data.set",
            "params": {"fields": [{"name": "order", "value": "order {{ trigger.body.id }}"}]},
        },
    ],
    "edges": [{"source": "hook", "target": "set"}],
}
DRAFT = {**GREET, "name": "Secret draft", "description": "Not published yet."}
ORDER_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer": {"type": "string", "minLength": 1, "description": "Who orders."},
        "qty": {"type": "integer", "minimum": 1},
    },
    "required": ["customer", "qty"],
    "additionalProperties": False,
}
ORDER: dict[str, Any] = {
    "name": "Place order",
    "description": "Places an order.",
    "nodes": [
        {"id": "start", "type": "trigger.manual", "params": {"input_schema": ORDER_INPUT}},
        {
            "id": "set",
            "type": "data.set",
            "params": {
                "fields": [{"name": "line", "value": "{{ trigger.qty }}x {{ trigger.customer }}"}]
            },
        },
    ],
    "edges": [{"source": "start", "target": "set"}],
}
TYPED_HOOK: dict[str, Any] = {
    "name": "Typed hook",
    "description": "Takes a typed order.",
    "nodes": [
        {
            "id": "hook",
            "type": "trigger.webhook",
            "params": {"path": "orders/typed", "input_schema": {**ORDER_INPUT}},
        },
        {"id": "noop", "type": "logic.noop"},
    ],
    "edges": [{"source": "hook", "target": "noop"}],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def tuned(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "queue_name": f"test:mcp-tools:{uuid.uuid4().hex}",
            "data_dir": tmp_path / "data",
            "llm_model": "scripted/copilot",
        }
    )


@pytest.fixture
async def base_url(tuned: Settings) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(tuned), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def resources(tuned: Settings) -> AsyncIterator[Resources]:
    opened = await open_resources(tuned)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@contextlib.asynccontextmanager
async def running_worker(resources: Resources) -> AsyncIterator[None]:
    worker = build_worker(resources, burst=False, handle_signals=False)
    task = asyncio.create_task(worker.main())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def mcp_session(base_url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    http = create_mcp_http_client(headers=headers)
    async with (
        http,
        streamable_http_client(f"{base_url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, /, **arguments: Any) -> tuple[bool, Any]:
    """``(is_error, payload)``: the structured result, or the error text."""
    result = await session.call_tool(tool, arguments)
    if result.is_error:
        return True, " ".join(getattr(c, "text", "") for c in result.content)
    if result.structured_content is not None:
        payload = result.structured_content
        return False, payload["result"] if set(payload) == {"result"} else payload
    return False, json.loads(getattr(result.content[0], "text", "null"))


async def rest_create(
    base_url: str, headers: dict[str, str], definition: dict[str, Any], *, publish: bool
) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        response = await http.post(
            "/workflows",
            content=json.dumps(definition),
            params={"publish": str(publish).lower()},
            headers=headers,
        )
    assert response.status_code == 201, response.text
    return str(response.json()["workflow"]["id"])


async def add_viewer(base_url: str, owner_headers: dict[str, str]) -> dict[str, str]:
    """A viewer key of the owner's own workspace."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        response = await http.post(
            "/workspace/members",
            json={"email": f"viewer-{uuid.uuid4().hex[:8]}@example.test", "role": "viewer"},
            headers=owner_headers,
        )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def test_published_trigger_workflows_are_tools_that_run(
    base_url, resources, tenant_factory
) -> None:
    owner = await tenant_factory(role="owner")
    greet_id = await rest_create(base_url, owner.headers, GREET, publish=True)
    await rest_create(base_url, owner.headers, CHAT, publish=True)
    await rest_create(base_url, owner.headers, HOOK, publish=True)
    await rest_create(base_url, owner.headers, DRAFT, publish=False)

    async with mcp_session(base_url, owner.headers) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert "wf_secret_draft" not in tools  # unpublished
        greet = tools["wf_greet_a_person"]
        assert greet.description is not None
        assert greet.description.startswith("Greets someone by name.")
        assert "declares no input schema" in greet.description
        assert greet.input_schema == {"type": "object", "additionalProperties": True}
        assert (greet.meta or {}).get("reporunner/workflow_id") == greet_id
        chat = tools["wf_echo_chat"]
        assert chat.input_schema["required"] == ["message"]
        hook = tools["wf_order_hook"]
        assert set(hook.input_schema["properties"]) == {"body", "query", "headers"}
        assert "POST orders/new" in (hook.description or "")
        assert {"knowledge_search", "create_workflow", "generate_workflow"} <= set(tools)

        async with running_worker(resources):
            failed, ran = await call(session, "wf_greet_a_person", who="Ada")
            assert not failed, ran
            assert ran["status"] == "succeeded", ran
            assert ran["finished"] is True
            assert "hi Ada" in json.dumps(ran["result"])

            failed, echoed = await call(session, "wf_echo_chat", message="ping")
            assert not failed, echoed
            assert echoed["status"] == "succeeded", echoed
            assert "ping" in json.dumps(echoed["result"])

            failed, hooked = await call(session, "wf_order_hook", body={"id": 42})
            assert not failed, hooked
            assert hooked["status"] == "succeeded", hooked
            assert "order 42" in json.dumps(hooked["result"])

        failed, done = await call(session, "get_execution", execution_id=ran["execution_id"])
        assert not failed, done
        assert done["trigger"] == {"who": "Ada"}
        assert {r["node_id"] for r in done["node_runs"]} >= {"start", "set"}

        failed, text = await call(session, "wf_echo_chat", text="no message")
        assert failed
        assert "message" in text


async def test_a_declared_input_schema_is_the_tool_schema_and_is_enforced(
    base_url, resources, tenant_factory
) -> None:
    owner = await tenant_factory(role="owner")
    order_id = await rest_create(base_url, owner.headers, ORDER, publish=True)
    await rest_create(base_url, owner.headers, TYPED_HOOK, publish=True)

    async with mcp_session(base_url, owner.headers) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        order = tools["wf_place_order"]
        assert order.input_schema == ORDER_INPUT
        assert "declares no input schema" not in (order.description or "")
        hook = tools["wf_typed_hook"]
        assert hook.input_schema["properties"]["body"] == ORDER_INPUT

        for arguments, named in (
            ({"customer": "acme", "qty": "two"}, "field 'qty'"),
            ({"qty": 2}, "field 'customer' is required"),
            ({"customer": "acme", "qty": 2, "extra": 1}, "'extra' was unexpected"),
        ):
            failed, text = await call(session, "wf_place_order", **arguments)
            assert failed, (arguments, text)
            assert "validation_failed:" in text, text
            assert named in text, text
        failed, text = await call(session, "wf_typed_hook", body={"customer": "acme"})
        assert failed
        assert "field 'qty' is required" in text, text

        async with running_worker(resources):
            failed, ran = await call(session, "wf_place_order", customer="acme", qty=3)
            assert not failed, ran
            assert ran["status"] == "succeeded", ran
            assert "3x acme" in json.dumps(ran["result"])

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        refused = await http.post(
            f"/workflows/{order_id}/executions",
            json={"input": {"customer": "acme", "qty": 0}},
            headers=owner.headers,
        )
        hooked = await http.post(
            f"/hooks/{owner.slug}/orders/typed", json={"customer": "", "qty": 1}
        )
        listed = await http.get(
            "/executions", params={"workflow_id": order_id}, headers=owner.headers
        )
    assert refused.status_code == 422, refused.text
    assert [p["pointer"] for p in refused.json()["problems"]] == ["/input/qty"]
    assert "field 'qty'" in refused.json()["detail"]
    assert hooked.status_code == 422, hooked.text
    assert [p["pointer"] for p in hooked.json()["problems"]] == ["/body/customer"]
    # only the one good call was queued: the refused ones never reached the queue
    assert len(listed.json()["items"]) == 1


async def test_a_viewer_sees_and_runs_nothing_it_cannot_through_rest(
    base_url, tenant_factory
) -> None:
    owner = await tenant_factory(role="owner")
    greet_id = await rest_create(base_url, owner.headers, GREET, publish=True)
    viewer = await add_viewer(base_url, owner.headers)

    # what REST allows a viewer
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        listed = await http.get("/workflows", headers=viewer)
        ran = await http.post(f"/workflows/{greet_id}/executions", json={}, headers=viewer)
    assert listed.status_code == 200
    assert ran.status_code == 403

    async with mcp_session(base_url, viewer) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"list_workflows", "validate_workflow", "knowledge_search"} <= names
        assert not any(n.startswith("wf_") for n in names)
        assert not names & {"run_workflow", "create_workflow", "update_workflow"}
        assert not names & {"publish_workflow", "generate_workflow"}

        failed, listed_mcp = await call(session, "list_workflows")
        assert not failed, listed_mcp
        assert [w["id"] for w in listed_mcp] == [greet_id]

        for name, arguments in (
            ("wf_greet_a_person", {"who": "x"}),
            ("create_workflow", {"definition": GREET}),
            ("update_workflow", {"workflow_id": greet_id, "name": "renamed"}),
            ("publish_workflow", {"workflow_id": greet_id, "version": 1}),
            ("generate_workflow", {"description": "greet people"}),
        ):
            failed, text = await call(session, name, **arguments)
            assert failed, (name, text)
            assert "permission_denied:" in text, (name, text)
            assert "editor" in text


async def test_another_workspace_gets_not_found_and_no_data(base_url, tenant_factory) -> None:
    owner = await tenant_factory(role="owner")
    greet_id = await rest_create(base_url, owner.headers, GREET, publish=True)
    stranger = await tenant_factory(role="owner")

    async with mcp_session(base_url, stranger.headers) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert not any(n.startswith("wf_") for n in names)
        failed, text = await call(session, "wf_greet_a_person", who="x")
        assert failed
        assert "not_found:" in text, text
        failed, text = await call(
            session, "update_workflow", workflow_id=greet_id, definition=DRAFT
        )
        assert failed
        assert "not_found:" in text, text
        assert "Greet" not in text
        failed, text = await call(session, "publish_workflow", workflow_id=greet_id, version=1)
        assert failed
        assert "not_found:" in text, text


async def test_create_validate_update_publish_through_mcp(base_url, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    async with mcp_session(base_url, editor.headers) as session:
        broken = {**GREET, "edges": [{"source": "start", "target": "nowhere"}]}
        failed, text = await call(session, "create_workflow", definition=broken)
        assert failed
        assert "validation_failed:" in text, text
        assert "/edges/0" in text

        failed, created = await call(session, "create_workflow", definition=DRAFT)
        assert not failed, created
        wf_id = created["workflow"]["id"]
        assert created["workflow"]["published_version"] is None
        assert created["version"]["number"] == 1

        failed, checked = await call(
            session, "validate_workflow", definition=created["version"]["definition"]
        )
        assert not failed, checked
        assert checked["valid"] is True

        failed, updated = await call(
            session, "update_workflow", workflow_id=wf_id, name="Hello tool", description="Hi."
        )
        assert not failed, updated
        assert updated["number"] == 2
        assert updated["definition"]["name"] == "Hello tool"
        assert updated["definition"]["nodes"] == created["version"]["definition"]["nodes"]

        names = {t.name for t in (await session.list_tools()).tools}
        assert "wf_hello_tool" not in names  # a draft is no tool

        failed, published = await call(session, "publish_workflow", workflow_id=wf_id, version=2)
        assert not failed, published
        assert published["published_version"] == 2
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert tools["wf_hello_tool"].description is not None
        assert tools["wf_hello_tool"].description.startswith("Hi.")


async def test_generate_workflow_saves_the_copilots_draft(
    base_url, tenant_factory, llm: ScriptedLLM
) -> None:
    editor = await tenant_factory(role="editor")
    args = {"definition": GREET, "explanations": {"start": "Starts it.", "set": "Greets."}}
    llm.plan(Reply(tool_calls=[tool_call(GENERATE_TOOL, args)]))
    async with mcp_session(base_url, editor.headers) as session:
        failed, out = await call(session, "generate_workflow", description="greet a person")
        assert not failed, out
        assert out["workflow"]["published_version"] is None
        assert out["version"]["number"] == 1
        assert [n["type"] for n in out["definition"]["nodes"]] == ["trigger.manual", "data.set"]
        failed, listed = await call(session, "list_workflows")
        assert not failed, listed
        assert [w["id"] for w in listed] == [out["workflow"]["id"]]


async def test_knowledge_search_finds_an_ingested_chunk(
    base_url, resources, tenant_factory
) -> None:
    owner = await tenant_factory(role="owner")
    viewer = await add_viewer(base_url, owner.headers)
    stranger = await tenant_factory(role="owner")
    ws = owner.workspace_id
    ingested = await knowledge_service(resources, ws).ingest(
        str(ws),
        "faq",
        "billing.md",
        b"# Billing\n\nInvoices are sent on the first day of each month.\n",
        create=True,
    )
    assert ingested.status == "ready"

    async with mcp_session(base_url, viewer) as session:  # viewers search through REST too
        failed, found = await call(
            session, "knowledge_search", query="when are invoices sent", knowledge_base="faq"
        )
        assert not failed, found
        top = found["results"][0]
        assert top["document_name"] == "billing.md"
        assert "first day of each month" in top["text"]
        assert top["heading_path"] == ["Billing"]
        assert uuid.UUID(top["chunk_id"])
        assert top["score"] > 0

        failed, text = await call(
            session, "knowledge_search", query="x", knowledge_base="faq", mode="fuzzy"
        )
        assert failed
        assert "invalid_argument:" in text, text

    async with mcp_session(base_url, stranger.headers) as session:
        failed, text = await call(
            session, "knowledge_search", query="invoices", knowledge_base="faq"
        )
        assert failed
        assert "not_found:" in text, text
        assert "Invoices" not in text
