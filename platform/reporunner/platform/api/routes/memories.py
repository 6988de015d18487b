"""``/memories``: what agents remember about end users (list, forget)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.auth import Principal, requires
from reporunner.platform.chats import MemoryPage, delete_memory, list_memories

__all__ = ["MemoryController", "route_handlers"]


class MemoryController(Controller):
    path = "/memories"
    tags = ["memories"]  # noqa: RUF012

    @get("/", summary="List agent memories (newest first)")
    async def list_(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        agent_id: FromQuery[str | None] = None,
        end_user_id: FromQuery[str | None] = None,
        limit: FromQuery[int] = 100,
        offset: FromQuery[int] = 0,
    ) -> MemoryPage:
        """Filter by ``agent_id`` and/or ``end_user_id``."""
        return await list_memories(
            transaction,
            principal.workspace_id,
            agent_id=agent_id,
            end_user_id=end_user_id,
            limit=max(1, min(limit, 500)),
            offset=max(0, offset),
        )

    @delete("/{memory_id:uuid}", guards=[requires("editor")], summary="Forget a memory")
    async def delete_(
        self,
        memory_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> None:
        await delete_memory(transaction, principal.workspace_id, memory_id)


route_handlers: list[Any] = [MemoryController]
