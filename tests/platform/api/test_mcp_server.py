"""``/mcp`` through the official MCP SDK client over real HTTP (uvicorn on 127.0.0.1): the tool
list, validate_workflow, run_workflow through a real worker, get_execution, and the refusals (no
key, a viewer running, another workspace's ids)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from reporunner.platform.api.app import create_app
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker

GREET = {
    "name": "greet",
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def tuned(settings: Settings) -> Settings:
    return settings.model_copy(update={"queue_name": f"test:mcp:{uuid.uuid4().hex}"})


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


async def call(session: ClientSession, name: str, **arguments: Any) -> tuple[bool, Any]:
    """``(is_error, payload)``: the structured result, or the error text."""
    result = await session.call_tool(name, arguments)
    if result.is_error:
        return True, " ".join(getattr(c, "text", "") for c in result.content)
    if result.structured_content is not None:
        payload = result.structured_content
        # lists come wrapped as {"result": [...]}; objects come as they are
        return False, payload["result"] if set(payload) == {"result"} else payload
    return False, json.loads(getattr(result.content[0], "text", "null"))


async def create_workflow(base_url: str, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        response = await http.post("/workflows", content=json.dumps(GREET), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["workflow"]["id"])


def test_the_public_surface_imports() -> None:
    import reporunner.platform.mcp as package

    assert package.__all__ == sorted(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None


async def test_tools_are_listed_and_validate_reports_problems(base_url, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    async with mcp_session(base_url, editor.headers) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"run_workflow", "create_workflow", "update_workflow", "generate_workflow"} <= names
    viewer = await tenant_factory(role="viewer")
    async with mcp_session(base_url, viewer.headers) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {
            "list_node_types",
            "get_node_schema",
            "validate_workflow",
            "list_workflows",
            "get_execution",
            "knowledge_search",
        } <= names
        assert "run_workflow" not in names  # needs the editor role, like its REST route

        failed, ok = await call(session, "validate_workflow", definition=GREET)
        assert not failed, ok
        assert ok["valid"] is True
        assert ok["problems"] == []

        broken = {**GREET, "nodes": [*GREET["nodes"], {"id": "x", "type": "http.reqest"}]}
        failed, bad = await call(session, "validate_workflow", definition=broken)
        assert not failed, bad
        assert bad["valid"] is False
        assert any(p["pointer"].startswith("/nodes/2") for p in bad["problems"])

        failed, schema = await call(session, "get_node_schema", node_type="data.set")
        assert not failed, schema
        assert schema["type"] == "data.set"


async def test_run_workflow_queues_a_run_that_a_worker_finishes(
    base_url, resources, tenant_factory
) -> None:
    editor = await tenant_factory(role="editor")
    wf_id = await create_workflow(base_url, editor.headers)
    async with mcp_session(base_url, editor.headers) as session:
        failed, listed = await call(session, "list_workflows")
        assert not failed, listed
        assert [w["id"] for w in listed] == [wf_id]

        failed, started = await call(session, "run_workflow", workflow_id=wf_id, input={"who": "x"})
        assert not failed, started
        assert started["status"] == "queued"

        await build_worker(resources, burst=True, handle_signals=False).main()
        failed, done = await call(session, "get_execution", execution_id=started["id"])
        assert not failed, done
        assert done["status"] == "succeeded", done
        assert {run["node_id"] for run in done["node_runs"]} >= {"start", "set"}


async def test_a_request_without_a_valid_key_gets_401(base_url) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        for headers in ({}, {"Authorization": "Bearer not-a-key"}):
            response = await http.post(
                "/mcp", json=body, headers={"Accept": "application/json", **headers}
            )
            assert response.status_code == 401, response.text
            assert "tools" not in response.text


async def test_a_viewer_cannot_run_and_other_workspaces_are_invisible(
    base_url, tenant_factory
) -> None:
    owner = await tenant_factory(role="owner")
    wf_id = await create_workflow(base_url, owner.headers)
    viewer = await tenant_factory(role="viewer")
    stranger = await tenant_factory(role="owner")

    async with mcp_session(base_url, viewer.headers) as session:
        failed, text = await call(session, "run_workflow", workflow_id=wf_id)
        assert failed
        assert "permission_denied:" in text, text
        assert "editor" in text

    async with mcp_session(base_url, stranger.headers) as session:
        failed, listed = await call(session, "list_workflows")
        assert not failed, listed
        assert listed == []
        failed, text = await call(session, "run_workflow", workflow_id=wf_id)
        assert failed
        assert "not_found:" in text, text
        assert "greet" not in text
        failed, text = await call(session, "get_execution", execution_id=str(uuid.uuid4()))
        assert failed
        assert "does not exist" in text
