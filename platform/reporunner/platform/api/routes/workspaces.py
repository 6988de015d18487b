"""``/workspace``, ``/workspace/members``, ``/api-keys`` and ``/audit``: who may do what."""

from __future__ import annotations

import uuid
from datetime import datetime

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform import identity
from reporunner.platform.auth import Principal, requires
from reporunner.platform.identity import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditPage,
    MemberAdd,
    MemberAdded,
    MemberOut,
    MemberUpdate,
    WorkspaceOut,
)

__all__ = ["ApiKeyController", "AuditController", "WorkspaceController", "route_handlers"]


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


route_handlers = [WorkspaceController, ApiKeyController, AuditController]
