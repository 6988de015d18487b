"""``{"kind": "mcp"}`` agent tools over the ``mcp`` service: prefixed names, the server's JSON
Schemas, a subset, bounded output, and a failing tool's error going back to the model. The
service here talks to a real SDK ``MCPServer`` in-process (the platform's talks over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from reporunner.agents.agent.tools import McpToolDescription, McpToolService
from reporunner.agents.nodes import AiAgent
from reporunner.agents.testing import Reply, ScriptedLLM, ScriptedRequest, scripted_llm, tool_call
from reporunner.nodes.errors import NodeError, ValidationFailed
from reporunner.nodes.testing import NodeTestContext, run_node


def orders() -> MCPServer:
    server = MCPServer("orders")

    @server.tool()
    def lookup_order(order_id: str) -> str:
        """Status of an order by its id."""
        return f"order {order_id}: shipped"

    @server.tool()
    def cancel_order(order_id: str) -> str:
        """Cancel an order."""
        raise ToolError(f"order {order_id} cannot be cancelled: it has shipped")

    @server.tool()
    def dump(size: int) -> str:
        """Lots of text."""
        return "y" * size

    return server


class InProcessMcp:
    """:class:`McpToolService` over in-process SDK servers (one session per operation)."""

    def __init__(self, **servers: MCPServer) -> None:
        self.servers = servers
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def list_tools(self, server: str) -> Sequence[McpToolDescription]:
        async with Client(self.servers[server]) as client:
            listed = await client.list_tools()
        return [
            McpToolDescription(t.name, t.description or "", dict(t.input_schema))
            for t in listed.tools
        ]

    async def call_tool(self, server: str, tool: str, arguments: dict[str, Any]) -> str:
        self.calls.append((server, tool, arguments))
        async with Client(self.servers[server]) as client:
            result = await client.call_tool(tool, arguments)
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise NodeError(text)
        return text


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


def tool_contents(request: ScriptedRequest) -> list[str]:
    return [m["content"] for m in request.messages if m.get("role") == "tool"]


async def test_the_agent_calls_mcp_tools_and_sees_their_errors(llm: ScriptedLLM) -> None:
    service = InProcessMcp(orders=orders())
    assert isinstance(service, McpToolService)

    def answer(request: ScriptedRequest) -> Reply:
        ok, failed = tool_contents(request)
        assert ok == "order A7: shipped"
        assert failed.startswith("ERROR: ")
        assert "cannot be cancelled: it has shipped" in failed
        return Reply(f"Status: {ok}. Cancelling failed.")

    llm.plan(
        Reply(
            tool_calls=[
                tool_call("orders__lookup_order", {"order_id": "A7"}, id="a"),
                tool_call("orders__cancel_order", {"order_id": "A7"}, id="b"),
            ]
        ),
        answer,
    )
    ctx = NodeTestContext(services={"mcp": service})
    params = {
        "model": "scripted/mcp",
        "prompt": "Where is order A7? Cancel it.",
        "tools": [{"kind": "mcp", "server": "orders", "tools": ["lookup_order", "cancel_order"]}],
    }
    out = await run_node(AiAgent, params, {"main": [{}]}, ctx)
    item = out.ports["main"][0]
    assert item["text"] == "Status: order A7: shipped. Cancelling failed."
    assert [(s["tool"], s["ok"]) for s in item["tool_calls"]] == [
        ("orders__lookup_order", True),
        ("orders__cancel_order", False),
    ]
    offered = {t["function"]["name"]: t["function"] for t in llm.requests[0].params["tools"]}
    assert set(offered) == {"orders__lookup_order", "orders__cancel_order"}  # the subset only
    schema = offered["orders__lookup_order"]["parameters"]
    assert schema["required"] == ["order_id"]
    assert offered["orders__lookup_order"]["description"] == "Status of an order by its id."
    assert service.calls == [
        ("orders", "lookup_order", {"order_id": "A7"}),
        ("orders", "cancel_order", {"order_id": "A7"}),
    ]
    results = [data for name, data in ctx.events if name == "node.tool_result"]
    assert results[1]["error"] == "Error executing tool cancel_order: order A7 cannot be " + (
        "cancelled: it has shipped"
    )


async def test_mcp_output_is_bounded(llm: ScriptedLLM) -> None:
    llm.plan(Reply(tool_calls=[tool_call("orders__dump", {"size": 5000})]), Reply("ok"))
    ctx = NodeTestContext(services={"mcp": InProcessMcp(orders=orders())})
    params = {
        "model": "scripted/mcp",
        "prompt": "dump",
        "max_tool_output_chars": 300,
        "tools": [{"kind": "mcp", "server": "orders"}],
    }
    await run_node(AiAgent, params, {"main": [{}]}, ctx)
    (content,) = tool_contents(llm.requests[1])
    assert content.startswith("y" * 300)
    assert content.endswith("[... output truncated: 4700 more characters not shown]")
    assert len(json.dumps(llm.requests[0].params["tools"])) > 0


async def test_a_tool_the_server_does_not_offer_is_refused(llm: ScriptedLLM) -> None:
    ctx = NodeTestContext(services={"mcp": InProcessMcp(orders=orders())})
    params = {
        "model": "scripted/mcp",
        "prompt": "x",
        "tools": [{"kind": "mcp", "server": "orders", "tools": ["drop_tables"]}],
    }
    with pytest.raises(ValidationFailed) as info:
        await run_node(AiAgent, params, {"main": [{}]}, ctx)
    assert "drop_tables" in info.value.detail
    assert info.value.extra["problems"][0]["pointer"] == "/tools/0/tools"
    assert llm.requests == []
