"""``/workspaces``, ``/workspace``, ``/workspace/members``, ``/api-keys`` and ``/audit``: who
may do what."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform import identity
from reporunner.platform.auth import Principal, requires
from reporunner.platform.auth.requests import client_ip
from reporunner.platform.executions.stop_all import stop_workspace_executions
from reporunner.platform.identity import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditPage,
    MemberAdd,
    MemberAdded,
    MemberOut,
    MemberUpdate,
    WorkspaceCreate,
    WorkspaceCreated,
    WorkspaceDelete,
    WorkspaceOut,
    WorkspaceUpdate,
)
from reporunner.platform.resources import Resources

__all__ = [
    "ApiKeyController",
    "AuditController",
    "WorkspaceController",
    "WorkspacesController",
    "route_handlers",
]


class WorkspacesController(Controller):
    """Workspaces of the caller's user. Rename and delete act on the request's workspace (the
    key's own, or ``X-Workspace`` of a browser session); the path id must name it."""

    path = "/workspaces"
    tags = ["workspace"]  # noqa: RUF012

    @get("/", summary="The workspaces the caller's user belongs to, with its role in each")
    async def list_(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[WorkspaceOut]:
        return await identity.list_workspaces(transaction, principal)

    @post("/", summary="Create a workspace; the caller becomes its owner")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[WorkspaceCreate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> WorkspaceCreated:
        """403 ``admins_only`` when ``REPORUNNER_WORKSPACE_CREATION=admins`` and the caller is
        no instance admin; 409 when the slug is taken."""
        settings = resources.settings
        return await identity.create_workspace(
            transaction, principal, data, creation=settings.workspace_creation,
            address=client_ip(request, settings),
        )  # fmt: skip

    @patch("/{workspace_id:uuid}", guards=[requires("admin")], summary="Rename a workspace")
    async def rename(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[uuid.UUID],
        data: JSONBody[WorkspaceUpdate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> WorkspaceOut:
        return await identity.rename_workspace(
            transaction, principal, workspace_id, data,
            address=client_ip(request, resources.settings),
        )  # fmt: skip

    @delete(
        "/{workspace_id:uuid}",
        guards=[requires("owner")],
        summary="Delete a workspace and everything in it (owner; confirm with its slug)",
        status_code=200,
    )
    async def delete_(
        self,
        request: Request[Any, Any, Any],
        workspace_id: FromPath[uuid.UUID],
        data: JSONBody[WorkspaceDelete],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> Response[dict[str, int]]:
        """Answers the rows deleted per table. 422 naming ``confirm`` unless it is the slug;
        409 when it is the caller's only workspace. Its queued and waiting executions are
        cancelled and its running ones stopped (waiting up to
        ``REPORUNNER_WORKER_SHUTDOWN_GRACE_SECONDS``) before anything is deleted; stored
        originals go after the commit."""
        settings = resources.settings
        await identity.check_deletion(transaction, principal, workspace_id, data)
        await stop_workspace_executions(
            resources, workspace_id, deadline_seconds=settings.worker_shutdown_grace_seconds
        )
        deleted = await identity.delete_workspace(
            transaction, principal, workspace_id, data, address=client_ip(request, settings)
        )
        return Response(
            deleted,
            background=BackgroundTask(
                identity.remove_originals,
                resources.originals,
                settings.data_dir,
                principal.workspace_id,
            ),
        )


class WorkspaceController(Controller):
    path = "/workspace"
    tags = ["workspace"]  # noqa: RUF012

    @get("/", summary="The caller's workspace and role")
    async def current(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> WorkspaceOut:
        return await identity.get_workspace(transaction, principal)

    @get("/members", summary="List members")
    async def members(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[MemberOut]:
        return await identity.list_members(transaction, principal)

    @post("/members", guards=[requires("admin")], summary="Add a member (admin; owner for owners)")
    async def add(
        self,
        data: JSONBody[MemberAdd],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> MemberAdded:
        return await identity.add_member(transaction, principal, data)

    @patch("/members/{user_id:uuid}", guards=[requires("admin")], summary="Change a role")
    async def change_role(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[MemberUpdate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> MemberOut:
        return await identity.change_member_role(transaction, principal, user_id, data)

    @delete("/members/{user_id:uuid}", guards=[requires("admin")], summary="Remove a member")
    async def remove(
        self,
        user_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> None:
        await identity.remove_member(transaction, principal, user_id)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api keys"]  # noqa: RUF012

    @post("/", summary="Create a personal API key (the full key is returned once)")
    async def create(
        self,
        data: JSONBody[ApiKeyCreate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> ApiKeyCreated:
        return await identity.create_api_key(transaction, principal, data)

    @get("/", summary="List API keys (own keys; all keys for admins)")
    async def list_(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[ApiKeyOut]:
        return await identity.list_api_keys(transaction, principal)

    @post("/{key_id:uuid}/revoke", summary="Revoke an API key", status_code=200)
    async def revoke(
        self,
        key_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> ApiKeyOut:
        return await identity.revoke_api_key(transaction, principal, key_id)


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]  # noqa: RUF012

    @get("/", guards=[requires("admin")], summary="Read the audit log (newest first)")
    async def list_(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        action: FromQuery[list[str] | None] = None,
        actor: FromQuery[uuid.UUID | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> AuditPage:
        """Filter by ``action`` (repeatable; ``member.*`` matches a prefix), ``actor`` (a user
        id) and time (``since`` inclusive, ``until`` exclusive); pass ``next_cursor`` as
        ``cursor``."""
        return await identity.list_audit(
            transaction, principal.workspace_id, actions=action, actor_user_id=actor,
            since=since, until=until, cursor=cursor, limit=limit,
        )  # fmt: skip


route_handlers = [WorkspacesController, WorkspaceController, ApiKeyController, AuditController]
