"""The answer of an agent-bound chat turn, written on a worker.

The agent answers with the thread's windowed history (older turns summarised into
``chat_threads.summary``) and its long-term memories; its events (tokens, tool steps, usage,
citations) come out as they happen, and the answer is stored with its tool calls, citations,
tokens and cost. Everything a turn needs is in Postgres, so any worker can write it.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.agents.agent import AgentResult, AgentSpec, client_for, run_agent
from reporunner.agents.llm import LLMClient, Usage
from reporunner.agents.memory import window_history
from reporunner.platform.chats.context import ChatContext
from reporunner.platform.chats.providers import AGENT_PROVIDERS
from reporunner.platform.chats.schemas import MessageOut
from reporunner.platform.chats.threads import PreparedTurn, get_thread, message_out
from reporunner.platform.db.models import ChatMessage, ChatThread
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources
from reporunner.platform.vault import resolve_credentials

__all__ = ["agent_turn", "node_services", "prepare_agent", "split_summary"]

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


def split_summary(stored: str) -> tuple[str, int]:
    """(summary, covered): the summary column keeps how many messages it covers up front."""
    match = _COVERED.match(stored)
    if match is None:
        return stored, 0
    return stored[match.end() :], int(match.group(1))


async def prepare_agent(
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


async def _store_answer(
    resources: Resources, turn: PreparedTurn, result: AgentResult, summary: str, covered: int
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


async def agent_turn(
    resources: Resources, turn: PreparedTurn
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Run the agent; yield its events as they happen, then ``citations`` (when knowledge was
    used) and ``final`` with the stored answer."""
    spec, ctx, client = turn.spec, turn.context, turn.client
    if spec is None or ctx is None or client is None:
        raise RuntimeError("prepare_turn prepares agent turns; this one is not prepared")
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
