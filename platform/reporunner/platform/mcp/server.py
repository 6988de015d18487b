"""The MCP server behind ``/mcp``: builder tools scoped to the calling API key.

Why a fresh stateless session manager per HTTP request: the Litestar app owns the lifespan, and a
stateless manager needs no state across requests, so each request runs the SDK's transport inside
its own task group. The caller (principal, resources, node registry) travels in a context
variable that the SDK's tasks inherit, so tools never see another workspace.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from litestar.types import Receive, Scope, Send
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from reporunner.nodes.catalog import catalog, node_schema
from reporunner.nodes.errors import ReporunnerError
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.auth import Principal, role_allows
from reporunner.platform.executions import service as executions
from reporunner.platform.resources import Resources
from reporunner.platform.workflows import service as workflows

__all__ = ["McpCaller", "McpPermissionDenied", "build_server", "handle_mcp_request"]


@dataclass(frozen=True, slots=True)
class McpCaller:
    """Who is calling the tools of this request, and with what."""

    principal: Principal
    resources: Resources
    registry: NodeRegistry


class McpPermissionDenied(ReporunnerError):
    """The API key's role does not allow this MCP tool."""

    code = "permission_denied"
    status = 403


_caller: ContextVar[McpCaller] = ContextVar("reporunner_mcp_caller")


def _current() -> McpCaller:
    try:
        return _caller.get()
    except LookupError as err:  # pragma: no cover - only reachable through misuse
        detail = "MCP tools run only inside an authenticated /mcp request"
        raise McpPermissionDenied(detail) from err


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _tool(fn: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
    """Report our own errors to the MCP client (the SDK hides any other exception's text).

    A ``ReporunnerError`` already says what to fix and holds no data of another workspace, so
    its code and detail are what the calling agent needs to correct its next call.
    """

    @functools.wraps(fn)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await fn(*args, **kwargs)
        except ReporunnerError as err:
            raise ToolError(f"{err.code}: {err.detail}") from err
        except ValueError as err:
            raise ToolError(f"invalid_argument: {err}") from err

    return wrapper


def _parse_id(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as err:
        detail = f"{what} {value!r} is not a UUID; pass an id from list_workflows"
        raise ValueError(detail) from err


@_tool
async def list_node_types(category: str | None = None) -> list[dict[str, Any]]:
    """Every node type (latest version) with its params schema, optionally of one category."""
    entries = catalog(_current().registry)
    return [e for e in entries if category is None or e["category"] == category]


@_tool
async def get_node_schema(node_type: str, version: int | None = None) -> dict[str, Any]:
    """One node type's catalog entry: params JSON Schema, ports and credentials."""
    return node_schema(_current().registry.get(node_type, version))


@_tool
async def validate_workflow(definition: dict[str, Any]) -> dict[str, Any]:
    """Validate a workflow definition without saving it; every problem with a JSON pointer."""
    out = workflows.validate_definition(definition, _current().registry)
    return out.model_dump(mode="json")


@_tool
async def list_workflows() -> list[dict[str, Any]]:
    """Workflows of the caller's workspace, newest first."""
    caller = _current()
    rows = await workflows.list_workflows(caller.resources.sessions, caller.principal.workspace_id)
    return [w.model_dump(mode="json") for w in rows]


@_tool
async def run_workflow(
    workflow_id: str, input: dict[str, Any] | None = None, version: int | None = None
) -> dict[str, Any]:
    """Queue a run of a workflow (published version, else latest); needs the editor role."""
    caller = _current()
    if not role_allows(caller.principal.role, "editor"):
        raise McpPermissionDenied(
            f"running a workflow needs the editor role; this key's role is "
            f"{caller.principal.role!r}"
        )
    out = await executions.start_execution(
        caller.resources,
        caller.principal.workspace_id,
        _parse_id(workflow_id, "workflow_id"),
        input or {},
        version=version,
        trigger_type="manual",
    )
    return out.model_dump(mode="json")


@_tool
async def get_execution(execution_id: str) -> dict[str, Any]:
    """One execution of the caller's workspace with its node runs (status, output, errors)."""
    caller = _current()
    out = await executions.get_execution(
        caller.resources, caller.principal.workspace_id, _parse_id(execution_id, "execution_id")
    )
    return out.model_dump(mode="json")


def build_server() -> MCPServer:
    """The MCP server with reporunner's first builder tools registered."""
    server: MCPServer = MCPServer(
        name="reporunner",
        instructions="Build, validate and run reporunner workflows of your API key's workspace.",
    )
    for tool in (
        list_node_types,
        get_node_schema,
        validate_workflow,
        list_workflows,
        run_workflow,
        get_execution,
    ):
        server.add_tool(tool)
    return server


_SERVER = build_server()


async def handle_mcp_request(caller: McpCaller, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one streamable-HTTP MCP request for ``caller``."""
    # MCPServer offers no public handle on its low-level server (mcp 2.3); it is stable API there.
    manager = StreamableHTTPSessionManager(
        app=_SERVER._lowlevel_server, json_response=True, stateless=True
    )
    token = _caller.set(caller)
    try:
        async with manager.run():
            await manager.handle_request(scope, receive, send)  # type: ignore[arg-type]
    finally:
        _caller.reset(token)
