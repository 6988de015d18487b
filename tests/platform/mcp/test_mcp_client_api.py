"""``/mcp-servers``: registering MCP servers for agents, listing and caching their tools over the
official SDK client (a real MCP server on 127.0.0.1, allowed for these tests only), and the
refusals: private addresses, stdio while off or with a command not on the allow-list, non-admin
callers, another workspace's server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from mcp_client_servers import Served, serve_http

from reporunner.platform.api.app import create_app
from reporunner.platform.settings import Settings

STDIO_SERVER = [sys.executable, str(Path(__file__).with_name("mcp_client_servers.py"))]
SECRET = "s3cret-mcp-token"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve_http() as running:
        yield running


@contextlib.asynccontextmanager
async def api(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API on uvicorn (127.0.0.1) with ``changes`` to the settings, and a client for it."""
    port = _free_port()
    app = create_app(settings.model_copy(update=changes))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done(), "the API did not start"
        assert time.monotonic() < deadline, "the API did not start"
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        await task


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the default settings (no private MCP hosts, no stdio)."""
    async with api(settings) as default:
        yield default


@pytest.fixture
async def loopback_ok(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the operator's allowance for MCP servers on 127.0.0.1 (this test's server)."""
    async with api(settings, mcp_allow_hosts="127.0.0.1") as client:
        yield client


def problem_pointers(body: dict[str, Any]) -> list[str]:
    return [p["pointer"] for p in body.get("problems", [])]


async def bearer_credential(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(
        "/credentials",
        json={"name": "orders-mcp", "type": "bearer_token", "data": {"token": SECRET}},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_register_list_cache_and_refresh_tools(
    loopback_ok: httpx.AsyncClient, served: Served, tenant_factory
) -> None:
    client = loopback_ok
    admin = await tenant_factory(role="admin")
    cred = await bearer_credential(client, admin.headers)
    body = {"name": "orders", "url": served.url, "credential_id": cred, "timeout_s": 20}
    created = await client.post("/mcp-servers", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    server = created.json()
    assert (server["transport"], server["tools"], server["tools_refreshed_at"]) == (
        "streamable_http",
        [],
        None,
    )

    before = len(served.seen_headers)
    tools = await client.get(f"/mcp-servers/{server['id']}/tools", headers=admin.headers)
    assert tools.status_code == 200, tools.text
    by_name = {t["name"]: t for t in tools.json()}
    assert set(by_name) == {"lookup_order", "cancel_order"}
    assert by_name["lookup_order"]["input_schema"]["required"] == ["order_id"]
    assert by_name["lookup_order"]["description"] == "Status of an order by its id."
    # the credential went out as the Authorization header of every request to the server
    sent = served.seen_headers[before:]
    assert sent
    assert {h.get("authorization") for h in sent} == {f"Bearer {SECRET}"}

    # cached: listing again does not contact the server
    cached = len(served.seen_headers)
    again = await client.get(f"/mcp-servers/{server['id']}/tools", headers=admin.headers)
    assert again.json() == tools.json()
    assert len(served.seen_headers) == cached
    stored = (await client.get(f"/mcp-servers/{server['id']}", headers=admin.headers)).json()
    assert stored["tools_refreshed_at"] is not None
    assert [t["name"] for t in stored["tools"]] == [t["name"] for t in tools.json()]

    refreshed = await client.post(f"/mcp-servers/{server['id']}/refresh", headers=admin.headers)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["tools_refreshed_at"] > stored["tools_refreshed_at"]
    assert len(served.seen_headers) > cached

    listed = await client.get("/mcp-servers", headers=admin.headers)
    assert [s["name"] for s in listed.json()] == ["orders"]
    for response in (created, tools, refreshed, listed):
        assert SECRET not in response.text

    patched = await client.patch(
        f"/mcp-servers/{server['id']}", json={"description": "order desk"}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "order desk"
    assert len(patched.json()["tools"]) == 2  # same endpoint: the cache stays

    gone = await client.delete(f"/mcp-servers/{server['id']}", headers=admin.headers)
    assert gone.status_code == 204
    missing = await client.get(f"/mcp-servers/{server['id']}", headers=admin.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/mcp", "http://127.0.0.1:{port}/mcp", "http://localhost/mcp", "file:///x"],
)
async def test_private_addresses_are_refused_without_the_allowance(
    client: httpx.AsyncClient, served: Served, tenant_factory, url: str
) -> None:
    admin = await tenant_factory(role="admin")
    port = served.url.split(":")[2].split("/")[0]
    body = {"name": "inside", "url": url.format(port=port)}
    response = await client.post("/mcp-servers", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"].startswith("url: ")
    assert problem_pointers(problem) == ["/url"]
    assert (await client.get("/mcp-servers", headers=admin.headers)).json() == []


async def test_a_server_registered_while_allowed_is_refused_once_the_allowance_is_gone(
    settings: Settings, served: Served, tenant_factory
) -> None:
    admin = await tenant_factory(role="admin")
    async with api(settings, mcp_allow_hosts="127.0.0.1") as allowed:
        created = await allowed.post(
            "/mcp-servers", json={"name": "orders", "url": served.url}, headers=admin.headers
        )
        assert created.status_code == 201, created.text
    async with api(settings) as strict:
        server_id = created.json()["id"]
        response = await strict.post(f"/mcp-servers/{server_id}/refresh", headers=admin.headers)
        assert response.status_code == 422, response.text
        assert problem_pointers(response.json()) == ["/url"]


async def test_stdio_is_refused_while_off_and_for_commands_not_on_the_list(
    settings: Settings, tenant_factory
) -> None:
    admin = await tenant_factory(role="admin")
    body = {"name": "local", "transport": "stdio", "command": "orders"}
    async with api(settings, mcp_stdio_commands={"orders": STDIO_SERVER}) as off:
        response = await off.post("/mcp-servers", json=body, headers=admin.headers)
        assert response.status_code == 422, response.text
        assert problem_pointers(response.json()) == ["/transport"]
        assert "REPORUNNER_MCP_STDIO_ENABLED" in response.json()["detail"]

    async with api(
        settings, mcp_stdio_enabled=True, mcp_stdio_commands={"orders": STDIO_SERVER}
    ) as on:
        for command in ("rm", "rm -rf /", STDIO_SERVER[0]):
            response = await on.post(
                "/mcp-servers", json={**body, "command": command}, headers=admin.headers
            )
            assert response.status_code == 422, response.text
            assert problem_pointers(response.json()) == ["/command"]
            assert response.json()["detail"].startswith("command: ")
        # a command line in any other field is not even part of the body
        response = await on.post(
            "/mcp-servers", json={**body, "args": ["-c", "evil"]}, headers=admin.headers
        )
        assert response.status_code == 400, response.text
        assert (await on.get("/mcp-servers", headers=admin.headers)).json() == []


async def test_an_allow_listed_stdio_command_serves_its_tools(
    settings: Settings, tenant_factory
) -> None:
    admin = await tenant_factory(role="admin")
    async with api(
        settings, mcp_stdio_enabled=True, mcp_stdio_commands={"orders": STDIO_SERVER}
    ) as on:
        body = {"name": "local", "transport": "stdio", "command": "orders", "timeout_s": 60}
        created = await on.post("/mcp-servers", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        assert created.json()["command"] == "orders"
        refreshed = await on.post(
            f"/mcp-servers/{created.json()['id']}/refresh", headers=admin.headers
        )
        assert refreshed.status_code == 200, refreshed.text
        assert {t["name"] for t in refreshed.json()["tools"]} == {"lookup_order", "cancel_order"}


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_only_admins_register_change_or_remove_servers(
    loopback_ok: httpx.AsyncClient, served: Served, tenant_factory, role: str
) -> None:
    member = await tenant_factory(role=role)
    body = {"name": "orders", "url": served.url}
    response = await loopback_ok.post("/mcp-servers", json=body, headers=member.headers)
    assert response.status_code == 403, response.text
    listed = await loopback_ok.get("/mcp-servers", headers=member.headers)
    assert (listed.status_code, listed.json()) == (200, [])


async def test_another_workspaces_server_is_not_found(
    loopback_ok: httpx.AsyncClient, served: Served, tenant_factory
) -> None:
    owner = await tenant_factory()
    other = await tenant_factory()
    created = await loopback_ok.post(
        "/mcp-servers", json={"name": "orders", "url": served.url}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    path = f"/mcp-servers/{created.json()['id']}"
    attempts = [
        await loopback_ok.get(path, headers=other.headers),
        await loopback_ok.get(f"{path}/tools", headers=other.headers),
        await loopback_ok.post(f"{path}/refresh", headers=other.headers),
        await loopback_ok.patch(path, json={"enabled": False}, headers=other.headers),
        await loopback_ok.delete(path, headers=other.headers),
    ]
    assert [r.status_code for r in attempts] == [404] * 5
    assert (await loopback_ok.get("/mcp-servers", headers=other.headers)).json() == []
    still = await loopback_ok.get(path, headers=owner.headers)
    assert (still.status_code, still.json()["enabled"]) == (200, True)


async def test_a_credential_of_another_workspace_or_type_is_refused(
    loopback_ok: httpx.AsyncClient, served: Served, tenant_factory
) -> None:
    owner = await tenant_factory()
    other = await tenant_factory()
    foreign = await bearer_credential(loopback_ok, other.headers)
    smtp = await loopback_ok.post(
        "/credentials",
        json={"name": "mail", "type": "smtp", "data": {"host": "mail.example.com"}},
        headers=owner.headers,
    )
    assert smtp.status_code == 201, smtp.text
    for cred in (foreign, smtp.json()["id"]):
        body = {"name": "orders", "url": served.url, "credential_id": cred}
        response = await loopback_ok.post("/mcp-servers", json=body, headers=owner.headers)
        assert response.status_code == 422, response.text
        assert problem_pointers(response.json()) == ["/credential_id"]
