"""Chat threads: create, post a message (a streamed agent turn), history.

A turn of an agent-bound thread runs in the API process: the user message is stored first, the
agent answers with the thread's windowed history (older turns summarised into
``chat_threads.summary``) and its long-term memories, tokens stream out as they come, and the
answer is stored with its tool calls, citations, tokens and cost. Everything a later turn needs
is in Postgres, so a thread continues on any API process after a restart. A workflow-bound
thread starts an execution of the workflow (Chat trigger item ``{message, thread_id, user,
history}``) and relays that execution's events.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.agents.agent import AgentResult, AgentSpec, client_for, run_agent
from reporunner.agents.llm import LLMClient, Usage
from reporunner.agents.memory import window_history
from reporunner.nodes.errors import Problem, ReporunnerError, ValidationFailed
from reporunner.platform.chats.context import ChatContext
from reporunner.platform.chats.providers import AGENT_PROVIDERS
from reporunner.platform.chats.schemas import (
    ChatCreate,
    ChatOut,
    ChatPage,
    MessageIn,
    MessageOut,
    MessagePage,
)
from reporunner.platform.chats.threads import COPILOT_THREAD_AGENT, Turn, get_thread, message_out
from reporunner.platform.chats.turn_lock import acquire_turn
from reporunner.platform.chats.workflow_turn import workflow_turn
from reporunner.platform.db.models import ChatMessage, ChatThread
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources
from reporunner.platform.vault import check_bindings, resolve_credentials
from reporunner.platform.workflows.service import load_version

__all__ = [
    "Turn",
    "create_chat",
    "get_chat",
    "list_chats",
    "list_messages",
    "node_services",
    "run_turn",
    "start_turn",
]

_COVERED = re.compile(r"^\[covered:(\d+)\]\n")
_EVENT_NAMES = {
    "token": "token",
    "node.tool_call": "tool_call",
    "node.tool_result": "tool_result",
    "llm.usage": "usage",
    "llm.retry": "retry",
}


def node_services(resources: Resources, workspace_id: uuid.UUID) -> dict[str, Any]:
    """Services a chat agent may use: the agents' services of every run
    (:data:`~reporunner.platform.chats.providers.AGENT_PROVIDERS`: knowledge search, memory,
    the default model from the settings, the node registry, MCP tools)."""
    return dict(provider(resources, workspace_id) for provider in AGENT_PROVIDERS)


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


def _split_summary(stored: str) -> tuple[str, int]:
    """(summary, covered): the summary column keeps how many messages it covers up front."""
    match = _COVERED.match(stored)
    if match is None:
        return stored, 0
    return stored[match.end() :], int(match.group(1))


async def _prepare_agent(
    resources: Resources,
    session: AsyncSession,
    workspace_id: uuid.UUID,
    thread: ChatThread,
    content: str,
) -> tuple[AgentSpec, ChatContext, LLMClient]:
    """The turn's agent spec (streaming, memory scoped to the thread's agent and end user), its
    context with the thread's credentials decrypted, and its LLM client (raises
    LLMNotConfigured before anything is stored)."""
    spec = AgentSpec.model_validate(thread.agent_config)
    agent_id = thread.agent_id or "assistant"
    memory = spec.memory.model_copy(
        update={"agent_id": spec.memory.agent_id or agent_id, "end_user_id": thread.end_user_id}
    )
    spec = spec.model_copy(update={"stream": True, "memory": memory})
    execution_id = f"chat:{thread.id}:{uuid.uuid4().hex}"
    bindings = thread.credentials or {}
    credentials = await resolve_credentials(
        session, workspace_id, bindings, resources.keyring, execution_id=execution_id
    )
    context = ChatContext(
        execution_id=execution_id,
        node_id=agent_id,
        workspace_id=str(workspace_id),
        trigger={"message": content, "thread_id": str(thread.id), "user": thread.end_user_id},
        services=node_services(resources, workspace_id),
        queue=asyncio.Queue(),
        credentials=credentials,
    )
    return spec, context, client_for(spec, context)


async def start_turn(
    resources: Resources, workspace_id: uuid.UUID, chat_id: uuid.UUID, data: MessageIn
) -> Turn:
    """Take the thread's turn lock, prepare the answer, then store the user message (before
    any byte is streamed, so that a missing model is a plain 503 with nothing stored, an unknown
    chat a 404 and a thread still answering a 409). :func:`run_turn` frees the lock.

    Raises:
        NotFoundError: no such chat in this workspace.
        ConflictError: the thread is still answering an earlier message.
        LLMNotConfigured: the agent has no model and none is configured.
        CredentialError: a bound credential was deleted since the chat was created.
    """
    lock = await acquire_turn(resources.redis, chat_id)
    try:
        turn = await _start_turn(resources, workspace_id, chat_id, data)
    except BaseException:
        await lock.release()
        raise
    turn.lock = lock
    return turn


async def _start_turn(
    resources: Resources, workspace_id: uuid.UUID, chat_id: uuid.UUID, data: MessageIn
) -> Turn:
    async with transaction(resources.sessions) as session:
        thread = await get_thread(session, workspace_id, chat_id)
        spec: AgentSpec | None = None
        context: ChatContext | None = None
        client: LLMClient | None = None
        if thread.agent_config is not None:
            spec, context, client = await _prepare_agent(
                resources, session, workspace_id, thread, data.content
            )
        earlier = await _messages(session, chat_id)
        message = ChatMessage(
            workspace_id=workspace_id, thread_id=chat_id, role="user", content=data.content
        )
        session.add(message)
        thread.updated_at = datetime.now(UTC)
        await session.flush()
        await session.refresh(message)
        summary, covered = _split_summary(thread.summary)
        return Turn(
            chat_id=chat_id,
            workspace_id=workspace_id,
            user_message=message_out(message),
            content=data.content,
            history=[
                {"role": m.role, "content": m.content}
                for m in earlier
                if m.role in ("user", "assistant") and m.content
            ],
            summary=summary,
            covered=covered,
            spec=spec,
            workflow_id=thread.workflow_id,
            end_user_id=thread.end_user_id,
            agent_id=thread.agent_id or "assistant",
            client=client,
            context=context,
        )


async def _store_answer(
    resources: Resources, turn: Turn, result: AgentResult, summary: str, covered: int
) -> MessageOut:
    content = result.answer or ""
    if result.output is not None:
        content = json.dumps(result.output, ensure_ascii=False)
    async with transaction(resources.sessions) as session:
        thread = await get_thread(session, turn.workspace_id, turn.chat_id)
        row = ChatMessage(
            workspace_id=turn.workspace_id,
            thread_id=turn.chat_id,
            role="assistant",
            content=content,
            tool_calls=result.steps or None,
            citations=result.citations or None,
            tokens_in=result.usage.prompt_tokens,
            tokens_out=result.usage.completion_tokens,
            cost_usd=Decimal(str(round(result.usage.cost_usd, 6))),
        )
        session.add(row)
        thread.summary = f"[covered:{covered}]\n{summary}" if summary else ""
        thread.updated_at = datetime.now(UTC)
        await session.flush()
        await session.refresh(row)
        return message_out(row)


async def _agent_turn(
    resources: Resources, turn: Turn
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    spec, ctx, client = turn.spec, turn.context, turn.client
    if spec is None or ctx is None or client is None:
        raise RuntimeError("start_turn prepares agent turns; this one is not prepared")
    window = await window_history(
        turn.history,
        budget_tokens=spec.memory.history_tokens,
        summary=turn.summary,
        covered=turn.covered,
        client=client,
    )
    task = asyncio.create_task(
        run_agent(spec, ctx, turn.content, history=window.messages, client=client)
    )
    try:
        while True:
            getter = asyncio.ensure_future(ctx.queue.get())
            await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                event, data = getter.result()
                if event in _EVENT_NAMES:
                    yield _EVENT_NAMES[event], data
                continue
            getter.cancel()
            break
        while not ctx.queue.empty():
            event, data = ctx.queue.get_nowait()
            if event in _EVENT_NAMES:
                yield _EVENT_NAMES[event], data
        result = task.result()
    finally:
        if not task.done():
            task.cancel()
        await ctx.aclose()
    if window.usage.calls:
        result = _with_usage(result, window.usage)
    if result.citations:
        yield "citations", {"citations": result.citations}
    message = await _store_answer(resources, turn, result, window.summary, window.covered)
    yield "final", {"message": message.model_dump(mode="json"), "usage": result.usage.as_dict()}


def _with_usage(result: AgentResult, extra: Usage) -> AgentResult:
    return replace(result, usage=result.usage + extra)


async def run_turn(
    resources: Resources, turn: Turn
) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
    """The turn's events, in order: ``message`` (the stored user message), then ``token``,
    ``tool_call``, ``tool_result``, ``usage``... as they happen, ``citations`` when knowledge
    was used, and ``final`` with the stored answer; ``error`` (code, detail) if it failed.
    The thread's turn lock is freed when the turn ends (or the stream is closed early)."""
    if turn.lock is not None:
        turn.lock.keep_alive()
    try:
        yield "message", {"message": turn.user_message.model_dump(mode="json")}
        try:
            if turn.spec is not None:
                async for event in _agent_turn(resources, turn):
                    yield event
            else:
                async for event in workflow_turn(resources, turn):
                    yield event
        except ReporunnerError as err:
            yield "error", {"code": err.code, "detail": err.detail}
    finally:
        if turn.lock is not None:
            await turn.lock.release()
