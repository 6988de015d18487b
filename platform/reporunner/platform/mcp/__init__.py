"""Reporunner as an MCP server: the builder tools over the streamable HTTP transport."""

from reporunner.platform.mcp.server import (
    McpCaller,
    McpPermissionDenied,
    build_server,
    handle_mcp_request,
)

__all__ = ["McpCaller", "McpPermissionDenied", "build_server", "handle_mcp_request"]
