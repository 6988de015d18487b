"""``/mcp-servers``: MCP servers whose tools the workspace's agents may use.

Admins register, change and remove servers; editors may refresh the tool list; every member
may read them and their tools. A
server's credential is referenced by id and never returned.
"""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.auth import Principal, requires
from reporunner.platform.mcp import servers
from reporunner.platform.mcp.schemas import (
    McpServerCreate,
    McpServerOut,
    McpServerUpdate,
    McpToolOut,
)
from reporunner.platform.resources import Resources

__all__ = ["route_handlers"]


class McpServerController(Controller):
    path = "/mcp-servers"
    tags = ["mcp servers"]  # noqa: RUF012

    @post("/", guards=[requires("admin")], summary="Register an MCP server for agents")
    async def create(
        self,
        data: JSONBody[McpServerCreate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> McpServerOut:
        return await servers.create_server(transaction, resources.settings, principal, data)

    @get("/", summary="List the registered MCP servers")
    async def list_(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[McpServerOut]:
        return await servers.list_servers(transaction, principal)

    @get("/{server_id:uuid}", summary="Get a registered MCP server")
    async def get_one(
        self,
        server_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> McpServerOut:
        return await servers.get_server(transaction, principal, server_id)

    @patch("/{server_id:uuid}", guards=[requires("admin")], summary="Change an MCP server")
    async def update(
        self,
        server_id: FromPath[uuid.UUID],
        data: JSONBody[McpServerUpdate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> McpServerOut:
        return await servers.update_server(
            transaction, resources.settings, principal, server_id, data
        )

    @delete("/{server_id:uuid}", guards=[requires("admin")], summary="Remove an MCP server")
    async def remove(
        self,
        server_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> None:
        await servers.delete_server(transaction, principal, server_id)

    @post(
        "/{server_id:uuid}/refresh",
        guards=[requires("editor")],
        status_code=200,
        summary="List the server's tools now and cache them",
    )
    async def refresh(
        self,
        server_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> McpServerOut:
        return await servers.refresh_tools(resources, principal.workspace_id, server_id)

    @get("/{server_id:uuid}/tools", summary="The server's tools (cached; listed when stale)")
    async def tools(
        self,
        server_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> list[McpToolOut]:
        return await servers.server_tools(resources, principal.workspace_id, server_id)


route_handlers = [McpServerController]
