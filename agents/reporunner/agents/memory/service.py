"""Long-term semantic memory: facts an agent keeps about a user across conversations.

Rows live in the ``memories`` table (pgvector), scoped to workspace + agent + end user, so one
user's memories never reach another user or another agent. :class:`SqlMemoryStore` speaks
SQLAlchemy Core over the ``memories`` table (:mod:`reporunner.agents.memory.tables`, its one
definition) in sessions it is given and embeds with a :class:`reporunner.knowledge.Embedder`
(the local MiniLM by default); the agents part never imports the platform. The engine lends it
to nodes as the ``memory`` service.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import delete, select
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.agents.memory.tables import memories
from reporunner.knowledge.embeddings import Embedder
from reporunner.nodes.errors import NotFoundError, ValidationFailed, parse_id

__all__ = [
    "MEMORY",
    "MemoryRecord",
    "MemoryScope",
    "MemoryService",
    "SqlMemoryStore",
    "forget_memory",
    "list_memories",
    "recall_sql",
]

MEMORY = "memory"
"""Service name of the :class:`MemoryService` (``ctx.service("memory")``)."""


@dataclass(frozen=True, slots=True)
class MemoryScope:
    """Whose memories: a workspace, an agent (its name or node id) and an end user."""

    workspace_id: str
    agent_id: str
    end_user_id: str = ""


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One remembered fact; ``score`` is the cosine similarity when it came from a recall."""

    id: str
    agent_id: str
    end_user_id: str
    text: str
    created_at: datetime | None = None
    score: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def as_item(self) -> dict[str, Any]:
        """JSON-safe dict (API responses, tool results)."""
        return {
            "id": self.id,
            "agent_id": self.agent_id,
            "end_user_id": self.end_user_id,
            "text": self.text,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "score": self.score,
            "metadata": dict(self.metadata),
        }


@runtime_checkable
class MemoryService(Protocol):
    """What agents call: store a fact, recall the facts closest to a query."""

    async def remember(
        self, scope: MemoryScope, text: str, metadata: Mapping[str, Any] | None = None
    ) -> MemoryRecord:
        """Store ``text`` in ``scope`` (an identical fact is not stored twice)."""
        ...

    async def recall(self, scope: MemoryScope, query: str, top_k: int = 3) -> list[MemoryRecord]:
        """The ``top_k`` facts of ``scope`` most similar to ``query``, best first."""
        ...


def _vector(values: list[float]) -> str:
    return "[" + ",".join(f"{v:.7g}" for v in values) + "]"


_RECORD = (
    memories.c.id,
    memories.c.agent_id,
    memories.c.end_user_id,
    memories.c.text,
    memories.c.created_at,
    memories.c.metadata,
)
"""The ``memories`` columns a :class:`MemoryRecord` is read from."""
_COLUMNS = ", ".join(column.name for column in _RECORD)


def _record(row: Any, score: float | None = None) -> MemoryRecord:
    return MemoryRecord(
        id=str(row.id),
        agent_id=row.agent_id,
        end_user_id=row.end_user_id,
        text=row.text,
        created_at=row.created_at,
        score=score,
        metadata=row.metadata or {},
    )


def recall_sql(dim: int) -> str:
    """The recall query for ``dim``-dimensional embeddings (params ``q``, ``ws``, ``agent``,
    ``user``, ``k``). The cast to ``vector(dim)`` and the literal ``vector_dims`` condition match
    the partial HNSW index on ``memories`` (migration 0003), so the planner can use it."""
    distance = f"(embedding::vector({int(dim)})) <=> CAST(:q AS vector({int(dim)}))"
    return (
        f"SELECT {_COLUMNS}, 1 - ({distance}) AS score FROM memories "
        "WHERE workspace_id = :ws AND agent_id = :agent AND end_user_id = :user "
        f"AND embedding IS NOT NULL AND vector_dims(embedding) = {int(dim)} "
        f"ORDER BY {distance} LIMIT :k"
    )


class SqlMemoryStore:
    """:class:`MemoryService` over the ``memories`` table.

    Args:
        sessions: Makes an ``AsyncSession`` (an ``async_sessionmaker``); each call commits.
        embedder: Embeds facts and queries; its dimension is stored implicitly in each vector
            and recall only compares vectors of the same dimension.
        min_score: Recalled facts less similar than this are left out (noise).
    """

    def __init__(
        self,
        sessions: Callable[[], AsyncSession],
        embedder: Embedder,
        *,
        min_score: float = 0.2,
    ) -> None:
        self._sessions = sessions
        self._embedder = embedder
        self._min_score = min_score

    async def remember(
        self, scope: MemoryScope, text: str, metadata: Mapping[str, Any] | None = None
    ) -> MemoryRecord:
        fact = text.strip()
        if not fact:
            raise ValidationFailed("a memory needs some text")
        ws = parse_id(scope.workspace_id, "workspace")
        vector = (await self._embedder.embed([fact]))[0]
        async with self._sessions() as session, session.begin():
            existing = (
                await session.execute(
                    select(*_RECORD)
                    .where(
                        memories.c.workspace_id == ws,
                        memories.c.agent_id == scope.agent_id,
                        memories.c.end_user_id == scope.end_user_id,
                        memories.c.text == fact,
                    )
                    .limit(1)
                )
            ).first()
            if existing is not None:
                return _record(existing)
            row = (
                await session.execute(
                    sql(
                        "INSERT INTO memories (workspace_id, agent_id, end_user_id, text, "
                        "embedding, metadata) VALUES (:ws, :agent, :user, :text, "
                        "CAST(:embedding AS vector), CAST(:metadata AS jsonb)) "
                        f"RETURNING {_COLUMNS}"
                    ),
                    {
                        "ws": ws,
                        "agent": scope.agent_id,
                        "user": scope.end_user_id,
                        "text": fact,
                        "embedding": _vector(vector),
                        "metadata": json.dumps(dict(metadata or {}), default=str),
                    },
                )
            ).one()
        return _record(row)

    async def recall(self, scope: MemoryScope, query: str, top_k: int = 3) -> list[MemoryRecord]:
        if not query.strip():
            return []
        vector = await self._embedder.embed_query(query)
        async with self._sessions() as session, session.begin():
            # the scope filter is selective: let an HNSW scan go on until top_k rows match
            await session.execute(sql("SET LOCAL hnsw.iterative_scan = relaxed_order"))
            rows = (
                await session.execute(
                    sql(recall_sql(len(vector))),
                    {
                        "q": _vector(vector),
                        "ws": parse_id(scope.workspace_id, "workspace"),
                        "agent": scope.agent_id,
                        "user": scope.end_user_id,
                        "k": top_k,
                    },
                )
            ).all()
        ranked = sorted(rows, key=lambda r: -float(r.score))  # relaxed order: restore exact order
        return [_record(r, float(r.score)) for r in ranked if float(r.score) >= self._min_score]

    async def list(
        self,
        workspace_id: str,
        *,
        agent_id: str | None = None,
        end_user_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[MemoryRecord]:
        """Memories of a workspace, newest first (see :func:`list_memories`)."""
        async with self._sessions() as session, session.begin():
            return await list_memories(
                session,
                workspace_id,
                agent_id=agent_id,
                end_user_id=end_user_id,
                limit=limit,
                offset=offset,
            )

    async def delete(self, workspace_id: str, memory_id: str) -> None:
        """Forget one memory of the workspace (see :func:`forget_memory`)."""
        async with self._sessions() as session, session.begin():
            await forget_memory(session, workspace_id, memory_id)


async def list_memories(
    session: AsyncSession,
    workspace_id: str,
    *,
    agent_id: str | None = None,
    end_user_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[MemoryRecord]:
    """Memories of a workspace, newest first, optionally of one agent and/or end user."""
    query = select(*_RECORD).where(memories.c.workspace_id == parse_id(workspace_id, "workspace"))
    if agent_id is not None:
        query = query.where(memories.c.agent_id == agent_id)
    if end_user_id is not None:
        query = query.where(memories.c.end_user_id == end_user_id)
    query = query.order_by(memories.c.created_at.desc(), memories.c.id).limit(limit).offset(offset)
    rows = (await session.execute(query)).all()
    return [_record(r) for r in rows]


async def forget_memory(session: AsyncSession, workspace_id: str, memory_id: str) -> None:
    """Forget one memory of the workspace.

    Raises:
        NotFoundError: no such memory in this workspace (other workspaces' ids included).
    """
    key = parse_id(memory_id, "memory")
    result = await session.execute(
        delete(memories)
        .where(memories.c.id == key, memories.c.workspace_id == parse_id(workspace_id, "workspace"))
        .returning(memories.c.id)
    )
    if result.first() is None:
        raise NotFoundError(f"memory '{memory_id}' does not exist in this workspace")
