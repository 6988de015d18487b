"""A small MCP server for the MCP client tests (the SDK's ``MCPServer``), two tools of which one
always fails. ``serve_http()`` runs it over streamable HTTP with uvicorn on 127.0.0.1 in a thread
of its own (the API test client blocks the test's event loop per request); run as a script it
serves stdio, for the allow-listed stdio command test."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError


def orders_server() -> MCPServer:
    server = MCPServer("orders")

    @server.tool()
    def lookup_order(order_id: str) -> str:
        """Status of an order by its id."""
        return f"order {order_id}: shipped on 2026-11-30"

    @server.tool()
    def cancel_order(order_id: str) -> str:
        """Cancel an order."""
        raise ToolError(f"order {order_id} cannot be cancelled: it has already shipped")

    return server


@dataclass
class Served:
    """A running HTTP MCP server and the request headers it received."""

    url: str
    seen_headers: list[dict[str, str]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_http(server_app: MCPServer | None = None) -> Iterator[Served]:
    app = (server_app or orders_server()).streamable_http_app()
    port = _free_port()
    served = Served(url=f"http://127.0.0.1:{port}/mcp")

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            served.seen_headers.append(
                {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            )
        await app(scope, receive, send)

    server = uvicorn.Server(
        uvicorn.Config(recording, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the MCP test server stopped"
        assert time.monotonic() < deadline, "the MCP test server did not start"
        time.sleep(0.02)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout=20)


if __name__ == "__main__":
    orders_server().run("stdio")
