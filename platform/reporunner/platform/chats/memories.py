"""Agent memories on the platform: the store over the shared database, list and forget."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.agents.memory import SqlMemoryStore, forget_memory
from reporunner.agents.memory import list_memories as list_memory_records
from reporunner.knowledge import embedder_for
from reporunner.platform.chats.schemas import MemoryOut, MemoryPage
from reporunner.platform.resources import Resources

__all__ = ["delete_memory", "list_memories", "memory_store"]


def memory_store(resources: Resources) -> SqlMemoryStore:
    """Long-term memory over the platform database with the configured local embedder."""
    return SqlMemoryStore(resources.sessions, embedder_for(resources.settings.embedding_model))


async def list_memories(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    agent_id: str | None = None,
    end_user_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> MemoryPage:
    """Memories of the workspace, newest first."""
    records = await list_memory_records(
        session,
        str(workspace_id),
        agent_id=agent_id,
        end_user_id=end_user_id,
        limit=limit,
        offset=offset,
    )
    return MemoryPage(
        items=[
            MemoryOut(
                id=uuid.UUID(r.id),
                agent_id=r.agent_id,
                end_user_id=r.end_user_id,
                text=r.text,
                created_at=r.created_at,
            )
            for r in records
        ]
    )


async def delete_memory(
    session: AsyncSession, workspace_id: uuid.UUID, memory_id: uuid.UUID
) -> None:
    """Forget one memory. Raises NotFoundError for another workspace's memory."""
    await forget_memory(session, str(workspace_id), str(memory_id))
