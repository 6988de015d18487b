"""The ``mcp`` engine service: agents of one workspace list and call its MCP servers' tools.

Implements :class:`reporunner.agents.agent.McpToolService`. Tool lists come from the cache
(listed again when older than ``REPORUNNER_MCP_TOOLS_MAX_AGE_SECONDS``); every call opens a
session to the server with its auth, SSRF guard and timeout. A tool that reports an error
raises :class:`McpToolFailed`, whose text the agent loop hands back to the model.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from reporunner.agents.agent.tools import MCP, McpToolDescription
from reporunner.nodes.errors import NodeError, NotFoundError
from reporunner.platform.db.models import McpServer
from reporunner.platform.db.session import transaction
from reporunner.platform.executions.node_services import RunInfo
from reporunner.platform.mcp.client import call_tool
from reporunner.platform.mcp.servers import cached_tools, connection_for
from reporunner.platform.resources import Resources

__all__ = ["McpToolFailed", "WorkspaceMcpTools", "mcp_provider", "workspace_mcp"]


class McpToolFailed(NodeError):
    """An MCP tool answered with ``isError``; the detail is its text."""

    code = "mcp_tool_failed"


class WorkspaceMcpTools:
    """:class:`~reporunner.agents.agent.McpToolService` over the servers of one workspace."""

    def __init__(self, resources: Resources, workspace_id: uuid.UUID) -> None:
        self.resources = resources
        self.workspace_id = workspace_id

    async def list_tools(self, server: str) -> Sequence[McpToolDescription]:
        _, tools = await cached_tools(self.resources, self.workspace_id, server)
        return [
            McpToolDescription(
                name=str(t["name"]),
                description=str(t.get("description") or ""),
                input_schema=dict(t.get("input_schema") or {"type": "object"}),
            )
            for t in tools
        ]

    async def call_tool(self, server: str, tool: str, arguments: dict[str, Any]) -> str:
        async with transaction(self.resources.sessions) as session:
            row = await session.scalar(
                select(McpServer).where(
                    McpServer.workspace_id == self.workspace_id, McpServer.name == server
                )
            )
            if row is None or not row.enabled:
                raise NotFoundError(f"MCP server '{server}' is not available in this workspace")
            conn = await connection_for(session, self.resources, row)
        text, is_error = await call_tool(conn, tool, arguments)
        if is_error:
            raise McpToolFailed(text or f"tool '{tool}' of MCP server '{server}' failed")
        return text


def workspace_mcp(resources: Resources, workspace_id: uuid.UUID) -> WorkspaceMcpTools:
    """The ``mcp`` service of ``workspace_id``."""
    return WorkspaceMcpTools(resources, workspace_id)


def mcp_provider(
    resources: Resources, workspace_id: uuid.UUID, run: RunInfo | None = None
) -> tuple[str, Any]:
    """``"mcp"``: the workspace's registered MCP servers, for ``mcp`` agent tools."""
    return MCP, workspace_mcp(resources, workspace_id)
