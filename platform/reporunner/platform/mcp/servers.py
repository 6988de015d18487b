"""The MCP servers a workspace registered for its agents: CRUD, tool listing and caching.

A registration is checked against the operator's settings before it is stored: HTTP URLs must
pass the SSRF guard (``REPORUNNER_MCP_ALLOW_HOSTS`` may allow private hosts), a stdio server
names a command of ``REPORUNNER_MCP_STDIO_COMMANDS`` and only while
``REPORUNNER_MCP_STDIO_ENABLED`` is on, and a credential must be one HTTP auth can carry. No
database session stays open while a server is contacted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ConflictError, NotFoundError, Problem, ValidationFailed
from reporunner.nodes.ssrf import SSRFPolicy
from reporunner.platform.auth import Principal
from reporunner.platform.db.models import AuditLog, Credential, McpServer
from reporunner.platform.db.session import transaction
from reporunner.platform.mcp.client import (
    AUTH_CREDENTIAL_TYPES,
    McpConnection,
    McpToolInfo,
    auth_for,
    check_mcp_url,
    list_tools,
)
from reporunner.platform.mcp.schemas import (
    McpServerCreate,
    McpServerOut,
    McpServerUpdate,
    McpToolOut,
)
from reporunner.platform.resources import Resources
from reporunner.platform.settings import Settings
from reporunner.platform.vault import resolve_credentials

__all__ = [
    "cached_tools",
    "connection_for",
    "create_server",
    "delete_server",
    "get_server",
    "list_servers",
    "load_server",
    "mcp_policy",
    "refresh_tools",
    "server_tools",
    "update_server",
]


def mcp_policy(settings: Settings) -> SSRFPolicy:
    """The SSRF policy of outbound MCP connections (``REPORUNNER_MCP_ALLOW_HOSTS``)."""
    hosts = tuple(h.strip() for h in settings.mcp_allow_hosts.split(",") if h.strip())
    return SSRFPolicy(allow_hosts=hosts)


@dataclass(frozen=True, slots=True)
class _Shape:
    transport: str
    url: str | None
    command: str | None
    credential_id: uuid.UUID | None


def _refuse(pointer: str, message: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, [Problem(pointer, "invalid_server", message)])


def _check_stdio(settings: Settings, shape: _Shape) -> None:
    if not settings.mcp_stdio_enabled:
        raise _refuse(
            "/transport",
            "stdio MCP servers are turned off",
            "transport: stdio MCP servers are turned off on this server; an operator turns "
            "them on with REPORUNNER_MCP_STDIO_ENABLED=true and lists the commands in "
            "REPORUNNER_MCP_STDIO_COMMANDS",
        )
    allowed = sorted(settings.mcp_stdio_commands)
    if not shape.command or shape.command not in settings.mcp_stdio_commands:
        raise _refuse(
            "/command",
            "not an allow-listed command name",
            f"command: '{shape.command or ''}' is not an allow-listed stdio command; name one "
            f"of {', '.join(allowed) or '(none configured)'} (the operator's "
            "REPORUNNER_MCP_STDIO_COMMANDS; a command line is never accepted)",
        )
    if shape.url:
        raise _refuse("/url", "stdio servers take no url", "url: a stdio server takes no url")
    if shape.credential_id:
        raise _refuse(
            "/credential_id",
            "stdio servers take no credential",
            "credential_id: credentials are sent over HTTP; a stdio server takes none",
        )


async def _check(
    session: AsyncSession, settings: Settings, workspace_id: uuid.UUID, shape: _Shape
) -> None:
    if shape.transport == "stdio":
        _check_stdio(settings, shape)
        return
    if shape.command:
        raise _refuse(
            "/command",
            "only stdio servers take a command",
            "command: only a stdio server names a command; an HTTP server takes a url",
        )
    if not shape.url:
        raise _refuse("/url", "required", f"url: a {shape.transport} MCP server needs a url")
    if "@" in shape.url.split("://", 1)[-1].split("/", 1)[0]:
        raise _refuse(
            "/url",
            "user info in the url",
            "url: put no user name or password in the url; bind a credential instead",
        )
    check_mcp_url(shape.url, mcp_policy(settings))
    if shape.credential_id is not None:
        row = await session.scalar(
            select(Credential).where(
                Credential.id == shape.credential_id, Credential.workspace_id == workspace_id
            )
        )
        if row is None:
            raise _refuse(
                "/credential_id",
                "not found",
                f"credential_id: credential {shape.credential_id} is not in this workspace",
            )
        if row.type not in AUTH_CREDENTIAL_TYPES:
            raise _refuse(
                "/credential_id",
                f"a '{row.type}' credential",
                f"credential_id: an MCP server authenticates with a "
                f"{', '.join(AUTH_CREDENTIAL_TYPES)} credential, not a '{row.type}'",
            )


def _tools(row: McpServer) -> list[McpToolOut]:
    return [McpToolOut.model_validate(tool) for tool in row.tools or []]


def _out(row: McpServer) -> McpServerOut:
    return McpServerOut(
        id=row.id,
        name=row.name,
        description=row.description,
        transport=row.transport,
        url=row.url,
        command=row.command,
        credential_id=row.credential_id,
        timeout_s=row.timeout_s,
        enabled=row.enabled,
        tools=_tools(row),
        tools_refreshed_at=row.tools_refreshed_at,
        created_at=row.created_at,
    )


def _audit(principal: Principal, action: str, row: McpServer) -> AuditLog:
    return AuditLog(
        workspace_id=principal.workspace_id,
        actor_user_id=principal.user_id,
        actor_api_key_id=principal.api_key_id,
        action=action,
        target_type="mcp_server",
        target_id=str(row.id),
        data={"name": row.name, "transport": row.transport},
    )


async def _name_free(
    session: AsyncSession, workspace_id: uuid.UUID, name: str, own: uuid.UUID | None
) -> None:
    other = await session.scalar(
        select(McpServer.id).where(McpServer.workspace_id == workspace_id, McpServer.name == name)
    )
    if other is not None and other != own:
        raise ConflictError(f"name: an MCP server called '{name}' already exists here")


async def load_server(
    session: AsyncSession, workspace_id: uuid.UUID, server_id: uuid.UUID
) -> McpServer:
    """The server ``server_id`` of ``workspace_id`` (another workspace's id is not found)."""
    row = await session.scalar(
        select(McpServer).where(McpServer.id == server_id, McpServer.workspace_id == workspace_id)
    )
    if row is None:
        raise NotFoundError(f"MCP server {server_id} does not exist in this workspace")
    return row


async def create_server(
    session: AsyncSession, settings: Settings, principal: Principal, body: McpServerCreate
) -> McpServerOut:
    """Register a server (nothing is contacted yet: ``refresh`` or the first use lists tools).

    Raises:
        ValidationFailed: a refused url, command, transport or credential (naming the field).
        ConflictError: the name is taken.
    """
    shape = _Shape(body.transport, body.url, body.command, body.credential_id)
    await _check(session, settings, principal.workspace_id, shape)
    await _name_free(session, principal.workspace_id, body.name, None)
    row = McpServer(
        id=uuid.uuid4(),
        workspace_id=principal.workspace_id,
        name=body.name,
        description=body.description,
        transport=body.transport,
        url=body.url,
        command=body.command,
        credential_id=body.credential_id,
        timeout_s=body.timeout_s,
        enabled=body.enabled,
        tools=[],
        created_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    session.add(_audit(principal, "mcp_server.created", row))
    await session.flush()
    await session.refresh(row)
    return _out(row)


async def list_servers(session: AsyncSession, principal: Principal) -> list[McpServerOut]:
    rows = await session.scalars(
        select(McpServer)
        .where(McpServer.workspace_id == principal.workspace_id)
        .order_by(McpServer.name)
    )
    return [_out(row) for row in rows]


async def get_server(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID
) -> McpServerOut:
    return _out(await load_server(session, principal.workspace_id, server_id))


async def update_server(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    server_id: uuid.UUID,
    body: McpServerUpdate,
) -> McpServerOut:
    """Change a registration; a changed url, command or credential drops the cached tools.

    Raises:
        NotFoundError: no such server in this workspace.
        ValidationFailed: the changed registration would be refused at creation.
    """
    given = body.model_fields_set
    row = await load_server(session, principal.workspace_id, server_id)
    shape = _Shape(
        body.transport or row.transport,
        body.url if "url" in given else row.url,
        body.command if "command" in given else row.command,
        body.credential_id if "credential_id" in given else row.credential_id,
    )
    await _check(session, settings, principal.workspace_id, shape)
    if body.name is not None:
        await _name_free(session, principal.workspace_id, body.name, row.id)
        row.name = body.name
    if body.description is not None:
        row.description = body.description
    if body.timeout_s is not None:
        row.timeout_s = body.timeout_s
    if body.enabled is not None:
        row.enabled = body.enabled
    moved = (shape.transport, shape.url, shape.command, shape.credential_id) != (
        row.transport,
        row.url,
        row.command,
        row.credential_id,
    )
    row.transport, row.url = shape.transport, shape.url
    row.command, row.credential_id = shape.command, shape.credential_id
    if moved:
        row.tools, row.tools_refreshed_at = [], None
    session.add(_audit(principal, "mcp_server.updated", row))
    await session.flush()
    return _out(row)


async def delete_server(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> None:
    row = await load_server(session, principal.workspace_id, server_id)
    session.add(_audit(principal, "mcp_server.deleted", row))
    await session.delete(row)


async def connection_for(
    session: AsyncSession, resources: Resources, row: McpServer
) -> McpConnection:
    """How to reach ``row``: its URL or allow-listed argv, with auth from its credential.

    The settings are checked again here: an operator who turned stdio off, removed a command
    or an allowed host after the registration is obeyed.

    Raises:
        ValidationFailed: the registration is no longer allowed by the settings.
        CredentialError: its credential is gone or not decryptable.
    """
    settings = resources.settings
    shape = _Shape(row.transport, row.url, row.command, None)
    if row.transport == "stdio":
        _check_stdio(settings, shape)
        argv = tuple(settings.mcp_stdio_commands[row.command or ""])
        return McpConnection(row.name, "stdio", argv=argv, timeout_s=row.timeout_s)
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if row.credential_id is not None:
        cred_type = await session.scalar(
            select(Credential.type).where(
                Credential.id == row.credential_id, Credential.workspace_id == row.workspace_id
            )
        )
        resolved = await resolve_credentials(
            session,
            row.workspace_id,
            {str(cred_type): str(row.credential_id)},
            resources.keyring,
        )
        headers, params = auth_for(next(iter(resolved.values())))
    return McpConnection(
        row.name,
        "sse" if row.transport == "sse" else "streamable_http",
        url=row.url,
        headers=headers,
        params=params,
        timeout_s=row.timeout_s,
        policy=mcp_policy(settings),
    )


def _stale(row: McpServer, settings: Settings) -> bool:
    if row.tools_refreshed_at is None:
        return True
    age = datetime.now(UTC) - row.tools_refreshed_at
    return age > timedelta(seconds=settings.mcp_tools_max_age_seconds)


async def _refresh(resources: Resources, workspace_id: uuid.UUID, server_id: uuid.UUID) -> None:
    async with transaction(resources.sessions) as session:
        row = await load_server(session, workspace_id, server_id)
        conn = await connection_for(session, resources, row)
    listed: list[McpToolInfo] = await list_tools(conn)
    async with transaction(resources.sessions) as session:
        row = await load_server(session, workspace_id, server_id)
        row.tools = [tool.as_json() for tool in listed]
        row.tools_refreshed_at = datetime.now(UTC)


async def refresh_tools(
    resources: Resources, workspace_id: uuid.UUID, server_id: uuid.UUID
) -> McpServerOut:
    """List the server's tools now and cache them.

    Raises:
        NotFoundError: no such server in this workspace.
        ValidationFailed: the url is refused (naming ``url``) or stdio is no longer allowed.
        McpServerError: the server is unreachable, timed out or failed (502).
    """
    await _refresh(resources, workspace_id, server_id)
    async with transaction(resources.sessions) as session:
        return _out(await load_server(session, workspace_id, server_id))


async def server_tools(
    resources: Resources, workspace_id: uuid.UUID, server_id: uuid.UUID
) -> list[McpToolOut]:
    """The cached tools, listed again first when the cache is older than the setting."""
    async with transaction(resources.sessions) as session:
        row = await load_server(session, workspace_id, server_id)
        stale = _stale(row, resources.settings)
        tools = _tools(row)
    if not stale:
        return tools
    out = await refresh_tools(resources, workspace_id, server_id)
    return out.tools


async def cached_tools(
    resources: Resources, workspace_id: uuid.UUID, name: str
) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    """``(server id, tools)`` of the enabled server called ``name``, refreshed when stale.

    Raises:
        NotFoundError: no enabled server of that name in this workspace.
    """
    async with transaction(resources.sessions) as session:
        row = await session.scalar(
            select(McpServer).where(McpServer.workspace_id == workspace_id, McpServer.name == name)
        )
        if row is None or not row.enabled:
            state = "is disabled" if row is not None else "does not exist"
            raise NotFoundError(
                f"MCP server '{name}' {state} in this workspace; register or enable it under "
                "/mcp-servers"
            )
        server_id, stale, tools = row.id, _stale(row, resources.settings), list(row.tools or [])
    if stale:
        await _refresh(resources, workspace_id, server_id)
        async with transaction(resources.sessions) as session:
            tools = list((await load_server(session, workspace_id, server_id)).tools or [])
    return server_id, tools
