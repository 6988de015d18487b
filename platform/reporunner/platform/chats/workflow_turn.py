"""A turn of a workflow-bound chat: run the chat workflow and relay its events.

The workflow starts with a Chat trigger; the trigger item is ``{message, thread_id, user,
history}`` (``history``: the thread's earlier user/assistant messages, for an ``ai.agent``
node's ``history`` param as ``{{ trigger.history }}``). The last item of the workflow's final
node is the answer: ``text`` (what an ``ai.agent`` node outputs), else ``message``/``output``,
with its ``citations`` if any.

The turn runs on a worker; the execution it starts is remembered on the turn's row, so a turn
picked up again after its worker died follows the same execution (without relaying its tokens
twice) instead of starting another.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from decimal import Decimal
from typing import Any

from reporunner.platform.chats.threads import PreparedTurn, get_thread, message_out
from reporunner.platform.chats.turns import set_execution
from reporunner.platform.db.models import ChatMessage
from reporunner.platform.db.session import transaction
from reporunner.platform.evaluations import answer_text
from reporunner.platform.executions import execution_now, follow, start_execution
from reporunner.platform.executions.service import TERMINAL
from reporunner.platform.resources import Resources

__all__ = ["workflow_turn"]

_RELAYED = {
    "token": "token",
    "node.tool_call": "tool_call",
    "node.tool_result": "tool_result",
    "llm.usage": "usage",
}
_HISTORY_MESSAGES = 40


async def workflow_turn(
    resources: Resources,
    turn: PreparedTurn,
    run_execution: Callable[[uuid.UUID], Coroutine[Any, Any, object]] | None = None,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Start the execution (or follow the one an earlier pick-up started), relay its agent
    events, store and yield the answer. ``run_execution`` runs the new execution inside this
    job (see :class:`~reporunner.platform.chats.turns.TurnWorker`)."""
    assert turn.workflow_id is not None
    relay = turn.execution_id is None  # a re-run does not send the tokens again
    runner: asyncio.Task[object] | None = None
    if turn.execution_id is None:
        trigger = {  # what trigger.chat expects, plus the recent history for an ai.agent node
            "message": turn.content,
            "thread_id": str(turn.chat_id),
            "user": turn.end_user_id or None,
            "history": turn.history[-_HISTORY_MESSAGES:],
        }
        started = await start_execution(
            resources, turn.workspace_id, turn.workflow_id, trigger, trigger_type="chat"
        )
        await set_execution(resources, turn.turn_id, started.id)
        yield "execution", {"execution_id": str(started.id)}
        turn.execution_id = started.id
        if run_execution is not None:  # claims it unless its own job was quicker
            runner = asyncio.create_task(run_execution(started.id))
    execution_id = turn.execution_id
    try:
        async for event in follow(resources.redis, str(execution_id)):
            if event is None:
                current = await execution_now(resources, turn.workspace_id, execution_id)
                if current.status in TERMINAL:
                    break
                continue
            if relay and event.event in _RELAYED:
                yield _RELAYED[event.event], event.data
            if event.event == "execution.finished" and event.data.get("status") in TERMINAL:
                break
        if runner is not None:
            await runner
    finally:
        if runner is not None and not runner.done():
            runner.cancel()  # the worker is stopping: the runner hands the execution back
            with contextlib.suppress(asyncio.CancelledError):
                await runner
    done = await execution_now(resources, turn.workspace_id, execution_id)
    if done.status != "succeeded":
        detail = (done.error or {}).get("message") or f"the chat workflow ended {done.status}"
        yield "error", {"code": "chat_workflow_failed", "detail": str(detail)}
        return
    items = (done.result or {}).get("final_items") or [{}]
    item = items[-1] if isinstance(items[-1], dict) else {"text": str(items[-1])}
    citations = item.get("citations") if isinstance(item.get("citations"), list) else None
    if citations:
        yield "citations", {"citations": citations}
    async with transaction(resources.sessions) as session:
        await get_thread(session, turn.workspace_id, turn.chat_id)
        row = ChatMessage(
            workspace_id=turn.workspace_id,
            thread_id=turn.chat_id,
            role="assistant",
            content=answer_text(item),
            tool_calls=item.get("tool_calls") if isinstance(item.get("tool_calls"), list) else None,
            citations=citations,
            execution_id=execution_id,
            tokens_in=done.tokens_in,
            tokens_out=done.tokens_out,
            cost_usd=Decimal(str(done.cost_usd)),
        )
        session.add(row)
        await session.flush()
        await session.refresh(row)
        message = message_out(row)
    yield "final", {"message": message.model_dump(mode="json"), "execution_id": str(execution_id)}
