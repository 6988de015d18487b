"""Chat threads: create, post a message (a turn answered on a worker), relay its events, history.

Posting a message stores it and queues a turn (:mod:`~reporunner.platform.chats.turns`); a worker
writes the answer (:mod:`~reporunner.platform.chats.runner`: the agent, or the chat workflow's
execution) and keeps every event of the turn in Redis. The API process that took the message
relays those events as they come, and any API process relays them again to a client that
reconnects (``GET /chats/{id}/turns/{turn_id}/events`` with ``Last-Event-ID``), so a restarted
or replaced API process does not end a turn. Everything a later turn needs is in Postgres.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ConflictError, NotFoundError, Problem, ValidationFailed
from reporunner.platform.chats.agent_turn import node_services, prepare_agent
from reporunner.platform.chats.schemas import (
    ChatCreate,
    ChatOut,
    ChatPage,
    MessageIn,
    MessagePage,
)
from reporunner.platform.chats.threads import COPILOT_THREAD_AGENT, Turn, get_thread, message_out
from reporunner.platform.chats.turns import (
    TERMINAL_EVENTS,
    TURN_LOST,
    enqueue_turn,
    publish_turn_event,
    turn_stream,
)
from reporunner.platform.db.models import ChatMessage, ChatThread, ChatTurn
from reporunner.platform.db.session import transaction
from reporunner.platform.executions.events import Event, follow_stream
from reporunner.platform.resources import Resources
from reporunner.platform.vault import check_bindings
from reporunner.platform.workflows.service import load_version

__all__ = [
    "Turn",
    "check_turn",
    "create_chat",
    "get_chat",
    "list_chats",
    "list_messages",
    "node_services",
    "run_turn",
    "start_turn",
    "turn_events",
]


def _chat_out(row: ChatThread) -> ChatOut:
    return ChatOut(
        id=row.id,
        title=row.title,
        agent_id=row.agent_id,
        agent=row.agent_config,
        workflow_id=row.workflow_id,
        end_user_id=row.end_user_id,
        credentials=dict(row.credentials or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create_chat(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID, data: ChatCreate
) -> ChatOut:
    """Create a thread.

    Raises:
        NotFoundError: ``workflow_id`` is not a workflow of this workspace.
        ValidationFailed: the workflow does not start with a Chat trigger, or a credential
            binding names no credential of that type in this workspace.
    """
    await check_bindings(session, workspace_id, data.credentials, "/credentials")
    if data.workflow_id is not None:
        _, version = await load_version(session, workspace_id, data.workflow_id)
        types = [n.get("type") for n in version.definition.get("nodes", [])]
        if "trigger.chat" not in types:
            raise ValidationFailed(
                "a chat workflow must start with a Chat trigger (trigger.chat); add one or "
                "bind the chat to an agent configuration instead",
                [Problem("/workflow_id", "no_chat_trigger", "no trigger.chat node")],
            )
    row = ChatThread(
        workspace_id=workspace_id,
        title=data.title,
        agent_id=data.agent_id,
        agent_config=data.agent.model_dump(mode="json") if data.agent else None,
        workflow_id=data.workflow_id,
        end_user_id=data.end_user_id or str(user_id),
        summary="",
        credentials=dict(data.credentials),
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return _chat_out(row)


async def list_chats(
    session: AsyncSession, workspace_id: uuid.UUID, *, limit: int = 50, offset: int = 0
) -> ChatPage:
    """The workspace's agent and workflow chats, the most recently active first (the copilot's
    refinement threads are listed under their workflow instead)."""
    query = (
        select(ChatThread)
        .where(
            ChatThread.workspace_id == workspace_id,
            or_(ChatThread.agent_id.is_(None), ChatThread.agent_id != COPILOT_THREAD_AGENT),
        )
        .order_by(ChatThread.updated_at.desc(), ChatThread.id)
        .limit(limit)
        .offset(offset)
    )
    return ChatPage(items=[_chat_out(row) for row in (await session.execute(query)).scalars()])


async def get_chat(session: AsyncSession, workspace_id: uuid.UUID, chat_id: uuid.UUID) -> ChatOut:
    """One thread. Raises NotFoundError for another workspace's thread."""
    return _chat_out(await get_thread(session, workspace_id, chat_id))


async def _messages(session: AsyncSession, chat_id: uuid.UUID) -> list[ChatMessage]:
    rows = await session.scalars(
        select(ChatMessage)
        .where(ChatMessage.thread_id == chat_id)
        .order_by(ChatMessage.created_at, ChatMessage.id)
    )
    return list(rows)


async def list_messages(
    session: AsyncSession, workspace_id: uuid.UUID, chat_id: uuid.UUID
) -> MessagePage:
    """The thread's messages, oldest first."""
    await get_thread(session, workspace_id, chat_id)
    return MessagePage(items=[message_out(m) for m in await _messages(session, chat_id)])


def _busy(chat_id: uuid.UUID) -> ConflictError:
    return ConflictError(
        f"chat '{chat_id}' is still answering the previous message; wait for its 'final' "
        "(or 'error') event, then send this message again"
    )


async def _check_agent(
    resources: Resources,
    session: AsyncSession,
    workspace_id: uuid.UUID,
    thread: ChatThread,
    content: str,
) -> None:
    """Resolve the agent's model and bound credentials now, so that a missing model is a 503
    and a deleted credential a 422 with nothing stored; the worker resolves them again (this
    look is rolled back: no ``credential.used`` audit entry for it)."""
    savepoint = await session.begin_nested()
    try:
        _, context, _ = await prepare_agent(resources, session, workspace_id, thread, content)
        await context.aclose()
    finally:
        await savepoint.rollback()


async def start_turn(
    resources: Resources, workspace_id: uuid.UUID, chat_id: uuid.UUID, data: MessageIn
) -> Turn:
    """Store the user message and queue the turn (its ``message`` event first), before any byte
    is streamed: an unknown chat is a 404, a missing model a 503 with nothing stored, and a
    thread still answering a 409. A worker writes the answer; :func:`run_turn` relays it.

    Raises:
        NotFoundError: no such chat in this workspace.
        ConflictError: the thread is still answering an earlier message (one active turn per
            thread, across every process: ``chat_turns``' partial unique index).
        LLMNotConfigured: the agent has no model and none is configured.
        CredentialError: a bound credential was deleted since the chat was created.
    """
    async with transaction(resources.sessions) as session:
        thread = await get_thread(session, workspace_id, chat_id)
        busy = await session.scalar(
            select(ChatTurn.id).where(
                ChatTurn.thread_id == chat_id, ChatTurn.status.in_(("queued", "running"))
            )
        )
        if busy is not None:
            raise _busy(chat_id)
        if thread.agent_config is not None:
            await _check_agent(resources, session, workspace_id, thread, data.content)
        message = ChatMessage(
            workspace_id=workspace_id, thread_id=chat_id, role="user", content=data.content
        )
        session.add(message)
        thread.updated_at = datetime.now(UTC)
        await session.flush()
        row = ChatTurn(
            workspace_id=workspace_id,
            thread_id=chat_id,
            message_id=message.id,
            status="queued",
            attempts=0,
            queue=resources.settings.queue_name,
        )
        session.add(row)
        try:
            await session.flush()
        except IntegrityError as err:  # a message to the same thread won the race
            raise _busy(chat_id) from err
        await session.refresh(message)
        turn = Turn(row.id, chat_id, workspace_id, message_out(message))
    first = {"message": turn.user_message.model_dump(mode="json"), "turn_id": str(turn.turn_id)}
    await publish_turn_event(resources, turn.turn_id, "message", first)
    await enqueue_turn(resources, turn.turn_id)
    return turn


async def check_turn(
    resources: Resources, workspace_id: uuid.UUID, chat_id: uuid.UUID, turn_id: uuid.UUID
) -> None:
    """Raises NotFoundError unless ``turn_id`` is a turn of chat ``chat_id`` of this workspace."""
    async with transaction(resources.sessions) as session:
        found = await session.scalar(
            select(ChatTurn.id).where(
                ChatTurn.id == turn_id,
                ChatTurn.thread_id == chat_id,
                ChatTurn.workspace_id == workspace_id,
            )
        )
    if found is None:
        raise NotFoundError(f"chat '{chat_id}' has no turn '{turn_id}' in this workspace")


async def _ended(resources: Resources, turn_id: uuid.UUID) -> Event | None:
    """The closing event of a turn that ended without one in its stream (the events expired,
    or its worker died between ending the row and appending it); None while it runs."""
    async with transaction(resources.sessions) as session:
        row = await session.get(ChatTurn, turn_id)
        if row is None or row.status in ("queued", "running"):
            return None
        if row.status == "failed":
            error = row.error or {"code": TURN_LOST, "detail": "the turn failed"}
            return Event("", "error", dict(error))
        question = await session.get(ChatMessage, row.message_id)
        answer = await session.scalar(
            select(ChatMessage)
            .where(
                ChatMessage.thread_id == row.thread_id,
                ChatMessage.role == "assistant",
                ChatMessage.created_at >= (question.created_at if question else row.created_at),
            )
            .order_by(ChatMessage.created_at, ChatMessage.id)
            .limit(1)
        )
        message = message_out(answer).model_dump(mode="json") if answer is not None else None
        return Event("", "final", {"message": message})


async def turn_events(
    resources: Resources, turn_id: uuid.UUID, after: str = "0"
) -> AsyncGenerator[Event | None, None]:
    """The turn's events from its stream (after stream id ``after``), live, until ``final`` or
    ``error``; None after each idle wait (for keep-alives). Check the caller may see the turn
    first (:func:`check_turn`)."""
    key = turn_stream(turn_id)
    async with contextlib.aclosing(follow_stream(resources.redis, key, after)) as events:
        async for event in events:
            if event is None:
                ended = await _ended(resources, turn_id)
                if ended is not None:
                    yield ended
                    return
                yield None
                continue
            yield event
            if event.event in TERMINAL_EVENTS:
                return


async def run_turn(
    resources: Resources, turn: Turn
) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
    """The turn's events, in order: ``message`` (the stored user message and the ``turn_id``),
    then ``token``, ``tool_call``, ``tool_result``, ``usage``... as the worker writes them,
    ``citations`` when knowledge was used, and ``final`` with the stored answer; ``error``
    (code, detail) if it failed. Closing this early does not stop the turn (it runs on a
    worker and frees the thread when it ends)."""
    async with contextlib.aclosing(turn_events(resources, turn.turn_id)) as events:
        async for event in events:
            if event is not None:
                yield event.event, event.data
