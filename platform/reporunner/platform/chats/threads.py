"""What both kinds of chat turn share: the API's :class:`Turn` handle, the worker's
:class:`PreparedTurn`, loading a thread, and the stored message as the API shows it.

The agent turn (:mod:`~reporunner.platform.chats.service`) and the workflow turn
(:mod:`~reporunner.platform.chats.workflow_turn`) both import from here, so neither imports
the other's internals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.agents.agent import AgentSpec
from reporunner.agents.llm import LLMClient, Message
from reporunner.nodes.errors import NotFoundError
from reporunner.platform.chats.context import ChatContext
from reporunner.platform.chats.schemas import MessageOut
from reporunner.platform.db.models import ChatMessage, ChatThread

__all__ = ["COPILOT_THREAD_AGENT", "PreparedTurn", "Turn", "get_thread", "message_out"]

COPILOT_THREAD_AGENT = "copilot"
"""``agent_id`` of the copilot's refinement threads (``reporunner.platform.copilot``), which
share the table but are not agent chats."""


@dataclass(frozen=True, slots=True)
class Turn:
    """A turn the API has queued: the user message is stored, a worker writes the answer.

    Its events are kept in Redis under ``turn_id``; any API process relays them
    (:func:`reporunner.platform.chats.run_turn`), from the start or after a ``Last-Event-ID``.
    """

    turn_id: uuid.UUID
    chat_id: uuid.UUID
    workspace_id: uuid.UUID
    user_message: MessageOut


@dataclass
class PreparedTurn:
    """A turn as the worker runs it: the thread's history, the agent and its model resolved."""

    turn_id: uuid.UUID
    chat_id: uuid.UUID
    workspace_id: uuid.UUID
    content: str
    history: list[Message]
    summary: str
    covered: int
    spec: AgentSpec | None
    workflow_id: uuid.UUID | None
    end_user_id: str
    agent_id: str
    client: LLMClient | None
    context: ChatContext | None
    execution_id: uuid.UUID | None = None
    attempts: int = 1


def message_out(row: ChatMessage) -> MessageOut:
    """A stored message as the API returns it."""
    return MessageOut(
        id=row.id,
        role=row.role,
        content=row.content,
        tool_calls=row.tool_calls,
        citations=row.citations,
        execution_id=row.execution_id,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost_usd=float(row.cost_usd),
        created_at=row.created_at,
    )


async def get_thread(
    session: AsyncSession, workspace_id: uuid.UUID, chat_id: uuid.UUID
) -> ChatThread:
    """The agent chat ``chat_id`` of ``workspace_id``.

    Raises:
        NotFoundError: no such thread in this workspace, or it is a copilot thread.
    """
    row = await session.scalar(
        select(ChatThread).where(ChatThread.id == chat_id, ChatThread.workspace_id == workspace_id)
    )
    if row is None:
        raise NotFoundError(f"chat '{chat_id}' does not exist in this workspace")
    if row.agent_id == COPILOT_THREAD_AGENT:
        raise NotFoundError(
            f"chat '{chat_id}' is a copilot refinement thread; use "
            "/workflows/{workflow_id}/copilot/threads/{thread_id}/messages"
        )
    return row
