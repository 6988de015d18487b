"""MCP both ways: reporunner as an MCP server (``/mcp``: the builder tools over streamable HTTP),
and the MCP servers a workspace registered as tools for its agents (``/mcp-servers``)."""

from reporunner.platform.mcp.client import McpConnection, McpServerError, McpToolInfo
from reporunner.platform.mcp.node_service import (
    McpToolFailed,
    WorkspaceMcpTools,
    mcp_provider,
    workspace_mcp,
)
from reporunner.platform.mcp.server import (
    McpCaller,
    McpPermissionDenied,
    build_server,
    handle_mcp_request,
)

__all__ = [
    "McpCaller",
    "McpConnection",
    "McpPermissionDenied",
    "McpServerError",
    "McpToolFailed",
    "McpToolInfo",
    "WorkspaceMcpTools",
    "build_server",
    "handle_mcp_request",
    "mcp_provider",
    "workspace_mcp",
]
