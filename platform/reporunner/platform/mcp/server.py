"""The MCP server behind ``/mcp``: builder tools, ``knowledge_search`` and the workspace's
published workflows as tools, all scoped to the calling API key.

Why a fresh stateless session manager per HTTP request: the Litestar app owns the lifespan, and a
stateless manager needs no state across requests, so each request runs the SDK's transport inside
its own task group. The caller (principal, resources, node registry) travels in a context
variable that the SDK's tasks inherit, so tools never see another workspace.

Roles mirror the REST API: reading tools (catalog, validate, list, get, search) serve any role;
the tools that write or run (``run_workflow``, ``create_workflow``, ``update_workflow``,
``generate_workflow``, ``publish_workflow`` and every workflow tool) need the editor role, like
their REST routes, and are not even listed to a viewer key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import mcp_types
from litestar.types import Receive, Scope, Send
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from reporunner.knowledge import SearchRequest
from reporunner.nodes.catalog import catalog, node_schema
from reporunner.nodes.errors import ReporunnerError, ValidationFailed, parse_id
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.auth import Principal, role_allows
from reporunner.platform.copilot import service as copilot
from reporunner.platform.copilot.schemas import GenerateRequest
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import service as executions
from reporunner.platform.knowledge.node_service import knowledge_service
from reporunner.platform.mcp import workflow_tools
from reporunner.platform.resources import Resources
from reporunner.platform.workflows import service as workflows

__all__ = [
    "EDITOR_TOOLS",
    "McpCaller",
    "McpPermissionDenied",
    "ReporunnerMcpServer",
    "build_server",
    "handle_mcp_request",
]


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
            problems = getattr(err, "problems", None)
            listed = f" problems: {json.dumps(problems)}" if problems else ""
            raise ToolError(f"{err.code}: {err.detail}{listed}") from err
        except ValueError as err:
            raise ToolError(f"invalid_argument: {err}") from err

    return wrapper


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
    async with transaction(caller.resources.sessions) as session:
        rows = await workflows.list_workflows(session, caller.principal.workspace_id)
    return [w.model_dump(mode="json") for w in rows]


def _require_editor(what: str) -> McpCaller:
    """The caller, if its role may do ``what`` (the REST routes' ``requires("editor")``)."""
    caller = _current()
    if not role_allows(caller.principal.role, "editor"):
        raise McpPermissionDenied(
            f"{what} needs the editor role; this key's role is {caller.principal.role!r}"
        )
    return caller


@_tool
async def run_workflow(
    workflow_id: str, input: dict[str, Any] | None = None, version: int | None = None
) -> dict[str, Any]:
    """Queue a run of a workflow (published version, else latest); needs the editor role."""
    caller = _require_editor("running a workflow")
    out = await executions.start_execution(
        caller.resources,
        caller.principal.workspace_id,
        parse_id(workflow_id, "workflow"),
        input or {},
        version=version,
        trigger_type="manual",
    )
    return out.model_dump(mode="json")


def _with_fields(
    definition: dict[str, Any], name: str | None, description: str | None
) -> dict[str, Any]:
    out = dict(definition)
    if name is not None:
        out["name"] = name
    if description is not None:
        out["description"] = description
    return out


@_tool
async def create_workflow(
    definition: dict[str, Any], name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """Save a new workflow from a definition as a draft (version 1, not published).

    ``name``/``description`` override the definition's. Invalid definitions are refused with
    every problem and its JSON pointer (validate_workflow shows them without saving). Needs
    the editor role.
    """
    caller = _require_editor("creating a workflow")
    async with transaction(caller.resources.sessions) as session:
        wf, version = await workflows.create_workflow(
            session,
            caller.principal.workspace_id,
            _with_fields(definition, name, description),
            caller.registry,
            user_id=caller.principal.user_id,
            note="created over MCP",
        )
    return {"workflow": wf.model_dump(mode="json"), "version": version.model_dump(mode="json")}


@_tool
async def update_workflow(
    workflow_id: str,
    definition: dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Save a new draft version of a workflow: ``definition`` and/or a new name/description.

    Without ``definition`` the latest version's definition is taken. The published version
    stays as it is (publish_workflow changes it). Needs the editor role.
    """
    caller = _require_editor("updating a workflow")
    ws, wf_id = caller.principal.workspace_id, parse_id(workflow_id, "workflow")
    if definition is None and name is None and description is None:
        raise ValidationFailed("pass a definition, a name or a description to change")
    async with transaction(caller.resources.sessions) as session:
        if definition is None:
            current = await workflows.get_workflow(session, ws, wf_id)
            if current.latest_version is None:
                raise ValidationFailed(f"workflow {wf_id} has no version yet; pass a definition")
            latest = await workflows.get_version(session, ws, wf_id, current.latest_version)
            definition = latest.definition
        version = await workflows.save_version(
            session,
            ws,
            wf_id,
            _with_fields(definition, name, description),
            caller.registry,
            user_id=caller.principal.user_id,
            note="updated over MCP",
        )
    return version.model_dump(mode="json")


@_tool
async def publish_workflow(workflow_id: str, version: int) -> dict[str, Any]:
    """Publish a version of a workflow (what runs by default and what is offered as a tool).

    Same rule as ``POST /workflows/{id}/versions/{n}/publish``: the editor role.
    """
    caller = _require_editor("publishing a workflow")
    wf_id = parse_id(workflow_id, "workflow")
    async with transaction(caller.resources.sessions) as session:
        out = await workflows.publish_version(
            session, caller.principal.workspace_id, wf_id, version
        )
    return out.model_dump(mode="json")


@_tool
async def generate_workflow(description: str) -> dict[str, Any]:
    """Let the copilot build a valid workflow from a plain-language description and save it as a
    draft (version 1, not published); answers with the definition, a summary, per-node
    explanations and the credentials still to bind. Needs the editor role."""
    caller = _require_editor("generating a workflow")
    out = await copilot.generate_workflow(
        caller.resources,
        caller.principal.workspace_id,
        GenerateRequest(description=description),
        caller.registry,
        user_id=caller.principal.user_id,
    )
    return out.model_dump(mode="json")


@_tool
async def knowledge_search(
    query: str,
    knowledge_base: str,
    top_k: int = 5,
    mode: str = "hybrid",
) -> dict[str, Any]:
    """Search a knowledge base of the caller's workspace (by name or id).

    ``mode``: vector, keyword or hybrid. Answers with the chunks, best first: text, score,
    document name, page, heading path and chunk id (for citations).
    """
    caller = _current()
    ws = caller.principal.workspace_id
    request = SearchRequest.model_validate({"query": query, "top_k": top_k, "mode": mode})
    found = await knowledge_service(caller.resources, ws).search(str(ws), knowledge_base, request)
    return {
        "mode": found.mode,
        "notes": list(found.notes),
        "results": [
            {
                "chunk_id": str(hit.chunk_id),
                "document_id": str(hit.document_id),
                "document_name": hit.document_name,
                "text": hit.text,
                "score": hit.score,
                "page": hit.page,
                "heading_path": list(hit.heading_path),
            }
            for hit in found.hits
        ],
    }


@_tool
async def get_execution(execution_id: str) -> dict[str, Any]:
    """One execution of the caller's workspace with its node runs (status, output, errors)."""
    caller = _current()
    key = parse_id(execution_id, "execution")
    async with transaction(caller.resources.sessions) as session:
        out = await executions.get_execution(session, caller.principal.workspace_id, key)
    return out.model_dump(mode="json")


EDITOR_TOOLS = frozenset(
    {"run_workflow", "create_workflow", "update_workflow", "publish_workflow", "generate_workflow"}
)
"""Builder tools that need the editor role (their REST routes are ``requires("editor")``)."""


class ReporunnerMcpServer(MCPServer[Any]):
    """``MCPServer`` whose tool list depends on the caller.

    The builder tools are registered once (``add_tool``); the workspace's published workflows
    are listed and called per request (:mod:`reporunner.platform.mcp.workflow_tools`). A viewer
    key is shown neither the editor-only builder tools nor the workflow tools.
    """

    async def list_tools(self) -> list[mcp_types.Tool]:
        caller = _current()
        editor = role_allows(caller.principal.role, "editor")
        tools = [t for t in await super().list_tools() if editor or t.name not in EDITOR_TOOLS]
        if not editor:
            return tools
        found = await workflow_tools.workflow_tools(caller.resources, caller.principal.workspace_id)
        return tools + [
            mcp_types.Tool(
                name=t.name,
                title=t.name,
                description=t.description,
                input_schema=t.input_schema,
                _meta={"reporunner/workflow_id": str(t.workflow_id)},
            )
            for t in found
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> mcp_types.CallToolResult | mcp_types.InputRequiredResult:
        if not name.startswith(workflow_tools.PREFIX):
            return await super().call_tool(name, arguments, context)
        answer = await _call_workflow_tool(name, arguments)
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(type="text", text=json.dumps(answer, default=str))],
            structured_content=answer,
        )


@_tool
async def _call_workflow_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    caller = _require_editor("running a workflow")
    return await workflow_tools.run_workflow_tool(
        caller.resources, caller.principal.workspace_id, name, arguments
    )


def build_server() -> ReporunnerMcpServer:
    """The MCP server with reporunner's builder and knowledge tools registered."""
    server = ReporunnerMcpServer(
        name="reporunner",
        instructions=(
            "Build, validate and run reporunner workflows of your API key's workspace, search "
            "its knowledge bases, and run its published workflows (the wf_* tools)."
        ),
    )
    for tool in (
        list_node_types,
        get_node_schema,
        validate_workflow,
        list_workflows,
        run_workflow,
        get_execution,
        create_workflow,
        update_workflow,
        publish_workflow,
        generate_workflow,
        knowledge_search,
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
