"""The worker's side of a chat turn: claim it, write its answer, end it, publish its events.

Every event goes to the turn's Redis stream (:func:`~reporunner.platform.chats.turns.turn_stream`)
as it happens. The row ends ``succeeded`` or ``failed`` before the closing ``final``/``error``
event is appended, so the thread is free by the time a client reads it. A turn that cannot run
(a deleted credential, a model that is gone, a failing workflow) ends with an ``error`` event
that names the problem. A worker told to stop mid-turn hands a workflow chat's turn back to the
queue (arq runs the job again elsewhere; it follows the same execution) and ends an agent's turn
with ``chat_turn_stopped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from sqlalchemy import select

from reporunner.nodes.errors import ReporunnerError
from reporunner.platform.chats.agent_turn import agent_turn, prepare_agent, split_summary
from reporunner.platform.chats.threads import PreparedTurn, get_thread
from reporunner.platform.chats.turns import (
    TERMINAL_EVENTS,
    TurnWorker,
    claim_turn,
    finish_turn,
    hand_back_turn,
    publish_turn_event,
)
from reporunner.platform.chats.workflow_turn import workflow_turn
from reporunner.platform.db.models import ChatMessage, ChatThread, ChatTurn
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources

__all__ = ["prepare_turn", "process_turn"]

log = logging.getLogger("reporunner.chats")

_STOPPED = {
    "code": "chat_turn_stopped",
    "detail": "the worker answering this message was stopped before it finished; send the "
    "message again",
}
_FAILED = {
    "code": "chat_turn_failed",
    "detail": "the answer failed on the worker (see its log); send the message again",
}


async def prepare_turn(resources: Resources, row: ChatTurn) -> PreparedTurn:
    """The claimed turn with the thread's history before its message and, for an agent thread,
    the agent, its credentials and its model resolved.

    Raises:
        NotFoundError: the thread was deleted.
        LLMNotConfigured, CredentialError: the model or a bound credential is gone.
    """
    async with transaction(resources.sessions) as session:
        thread = await get_thread(session, row.workspace_id, row.thread_id)
        messages = list(
            await session.scalars(
                select(ChatMessage)
                .where(ChatMessage.thread_id == row.thread_id)
                .order_by(ChatMessage.created_at, ChatMessage.id)
            )
        )
        index = next(i for i, m in enumerate(messages) if m.id == row.message_id)
        content = messages[index].content
        spec = context = client = None
        if thread.agent_config is not None:
            spec, context, client = await prepare_agent(
                resources, session, row.workspace_id, thread, content
            )
        summary, covered = split_summary(thread.summary)
        return PreparedTurn(
            turn_id=row.id,
            chat_id=row.thread_id,
            workspace_id=row.workspace_id,
            content=content,
            history=[
                {"role": m.role, "content": m.content}
                for m in messages[:index]
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
            execution_id=row.execution_id,
            attempts=row.attempts,
        )


async def _answer(
    resources: Resources, row: ChatTurn, state: TurnWorker
) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
    try:
        turn = await prepare_turn(resources, row)
        if turn.spec is not None:
            async for event in agent_turn(resources, turn):
                yield event
        else:
            async for event in workflow_turn(resources, turn, state.run_execution):
                yield event
    except ReporunnerError as err:
        yield "error", {"code": err.code, "detail": err.detail}


async def process_turn(resources: Resources, turn_id: uuid.UUID, state: TurnWorker) -> str:
    """Claim and answer one turn; returns ``skipped`` (not queued: a duplicate job, or the turn
    ended) or how it ended (``succeeded``/``failed``). Never leaves a claimed turn running."""
    row = await claim_turn(resources, turn_id, state.worker_id)
    if row is None:
        return "skipped"
    state.running.add(turn_id)
    try:
        async with contextlib.aclosing(_answer(resources, row, state)) as events:
            async for name, data in events:
                if name in TERMINAL_EVENTS:
                    status = "succeeded" if name == "final" else "failed"
                    await finish_turn(
                        resources,
                        turn_id,
                        state.worker_id,
                        status,
                        None if name == "final" else data,
                    )
                    await publish_turn_event(resources, turn_id, name, data)
                    return status
                await publish_turn_event(resources, turn_id, name, data)
        raise RuntimeError("the turn ended without an answer")
    except asyncio.CancelledError:  # the worker is stopping and its grace period is over
        await asyncio.shield(_stop(resources, row, state))
        raise
    except Exception:
        log.exception("chat turn %s failed", turn_id)
        await _end(resources, turn_id, state, _FAILED)
        return "failed"
    finally:
        state.running.discard(turn_id)


async def _stop(resources: Resources, row: ChatTurn, state: TurnWorker) -> None:
    """A workflow chat's turn goes back to the queue (its execution goes on, a re-run follows
    it); an agent's turn ends with ``chat_turn_stopped`` (running it again could repeat its tool
    calls)."""
    try:
        async with transaction(resources.sessions) as session:
            workflow = await session.scalar(
                select(ChatThread.workflow_id).where(ChatThread.id == row.thread_id)
            )
        if workflow is not None and await hand_back_turn(resources, row.id, state.worker_id):
            return
    except Exception:
        log.warning("could not hand chat turn %s back", row.id, exc_info=True)
    await _end(resources, row.id, state, _STOPPED)


async def _end(
    resources: Resources, turn_id: uuid.UUID, state: TurnWorker, error: dict[str, str]
) -> None:
    """Fail the turn with ``error`` (the reaper does it if this fails too)."""
    try:
        if await finish_turn(resources, turn_id, state.worker_id, "failed", error):
            await publish_turn_event(resources, turn_id, "error", error)
    except Exception:
        log.warning("could not end chat turn %s; the reaper will", turn_id, exc_info=True)
