"""A tool call that never answers ends at the server's ``timeout_s`` with a clear error."""

from __future__ import annotations

import asyncio

import pytest
from mcp.server.mcpserver import MCPServer
from mcp_client_servers import serve_http

from reporunner.nodes.ssrf import SSRFPolicy
from reporunner.platform.mcp.client import McpConnection, McpServerError, call_tool, list_tools


def stuck_server() -> MCPServer:
    server = MCPServer("stuck")

    @server.tool()
    async def wait_forever() -> str:
        """Never answers."""
        await asyncio.Event().wait()
        return "unreachable"

    @server.tool()
    def ping() -> str:
        """Answers at once."""
        return "pong"

    return server


async def test_a_tool_call_that_never_answers_times_out_clearly() -> None:
    with serve_http(stuck_server()) as served:
        conn = McpConnection(
            name="stuck",
            transport="streamable_http",
            url=served.url,
            timeout_s=2,
            policy=SSRFPolicy(allow_hosts=("127.0.0.1",)),
        )
        names = {t.name for t in await list_tools(conn)}
        assert names == {"wait_forever", "ping"}
        assert await call_tool(conn, "ping", {}) == ("pong", False)
        with pytest.raises(McpServerError) as info:
            await call_tool(conn, "wait_forever", {})
        assert "did not answer tools/call 'wait_forever' within 2s" in info.value.detail
        # the connection is usable again right after the timeout
        assert await call_tool(conn, "ping", {}) == ("pong", False)
