"""Chat turns on the queue: their rows, their arq jobs, their events, their heartbeat and reaper.

A turn is queued like an execution: the API writes the ``chat_turns`` row (``queued``) with the
user message, appends the ``message`` event to the turn's Redis stream, then enqueues the arq
job and wakes the workers in one script (:func:`~reporunner.platform.executions.queue.enqueue_job`).
A worker claims the row (``UPDATE ... WHERE status = 'queued'``), writes every event of the
answer to the stream and ends the row ``succeeded`` or ``failed`` *before* it appends the
closing ``final``/``error`` event, so a client that reads ``final`` may send its next message at
once. Any API process relays the stream (``XREAD``), so a client reconnecting to another
process after a restart gets the rest with ``Last-Event-ID``.

The row's partial unique index allows one active turn per thread: that is the thread's turn
lock across every API and worker process. The worker refreshes ``heartbeat_at`` of its turns;
the reaper (every worker runs one) ends a ``running`` turn whose heartbeat stopped with a
``chat_turn_lost`` error event (a workflow chat's turn is queued again instead, up to
:data:`MAX_TURN_ATTEMPTS` pick-ups: its execution is durable, started once, and a re-run
follows it), and enqueues a ``queued`` turn whose job is gone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from reporunner.platform.db.models import ChatThread, ChatTurn
from reporunner.platform.db.session import transaction
from reporunner.platform.executions.events import append_event
from reporunner.platform.executions.queue import enqueue_job, job_id
from reporunner.platform.executions.reaper import drop_dead_job, enqueue_orphans, ours
from reporunner.platform.resources import Resources

__all__ = [
    "MAX_TURN_ATTEMPTS",
    "TURN_JOB",
    "TURN_LOST",
    "TurnWorker",
    "beat_turns",
    "claim_turn",
    "enqueue_turn",
    "finish_turn",
    "hand_back_turn",
    "publish_turn_event",
    "reap_turns",
    "set_execution",
    "turn_stream",
]

log = logging.getLogger("reporunner.chats")

TURN_JOB = "run_chat_turn_job"
"""Name of the worker job that writes the answer of one chat turn."""
MAX_TURN_ATTEMPTS = 3
"""How often a workflow chat's turn is picked up before a crash loop is declared a failure."""
TURN_LOST = "chat_turn_lost"
"""Error code of a turn whose worker stopped answering (killed, out of memory...)."""
TERMINAL_EVENTS = frozenset({"final", "error"})


@dataclass
class TurnWorker:
    """The chat turns one worker runs (its heartbeat refreshes their rows).

    Attributes:
        worker_id: Written on claimed rows; the heartbeat refreshes rows with this id.
        run_execution: Runs a queued execution in this job (the worker passes its execution
            runner): a workflow chat's turn runs the execution it starts itself instead of
            waiting for a free slot, so turns waiting on executions can never fill every slot
            of every worker. None: the execution's own job runs it.
        running: Ids of the turns running here.
    """

    worker_id: str
    run_execution: Callable[[uuid.UUID], Coroutine[Any, Any, object]] | None = None
    running: set[uuid.UUID] = field(default_factory=set)


def turn_stream(turn_id: uuid.UUID) -> str:
    """Redis stream that keeps one turn's events (replay + follow)."""
    return f"reporunner:chat-turn:{turn_id}:stream"


async def publish_turn_event(
    resources: Resources, turn_id: uuid.UUID, event: str, data: Mapping[str, Any]
) -> str:
    """Append one event to the turn's stream; returns its id (the SSE ``id``)."""
    return await append_event(
        resources.redis,
        turn_stream(turn_id),
        event,
        data,
        ttl=int(resources.settings.event_retention_seconds),
    )


async def enqueue_turn(
    resources: Resources, turn_id: uuid.UUID, attempts: int = 0, *, suffix: str = ""
) -> bool:
    """Enqueue the turn's job and wake the workers; never raises (the reaper enqueues a
    ``queued`` turn whose job is missing)."""
    ident = job_id(turn_id, attempts, suffix)
    try:
        return await enqueue_job(
            resources.arq, resources.settings.queue_name, TURN_JOB, ident, (str(turn_id),)
        )
    except Exception:
        log.warning("could not enqueue chat turn %s; the reaper will", turn_id, exc_info=True)
        return False


async def claim_turn(resources: Resources, turn_id: uuid.UUID, worker_id: str) -> ChatTurn | None:
    """Mark a queued turn ``running`` for ``worker_id``; None if it is not queued (a duplicate
    job, or a turn that ended)."""
    async with transaction(resources.sessions) as session:
        row: ChatTurn | None = await session.scalar(
            update(ChatTurn)
            .where(ChatTurn.id == turn_id, ChatTurn.status == "queued")
            .values(
                status="running",
                worker_id=worker_id,
                heartbeat_at=func.now(),
                attempts=ChatTurn.attempts + 1,
                queue=resources.settings.queue_name,
            )
            .returning(ChatTurn),
            execution_options={"populate_existing": True},
        )
        return row


async def finish_turn(
    resources: Resources,
    turn_id: uuid.UUID,
    worker_id: str,
    status: str,
    error: dict[str, Any] | None = None,
) -> bool:
    """End a running turn (only while ``worker_id`` still owns it); frees its thread."""
    async with transaction(resources.sessions) as session:
        ended = await session.scalar(
            update(ChatTurn)
            .where(
                ChatTurn.id == turn_id,
                ChatTurn.worker_id == worker_id,
                ChatTurn.status == "running",
            )
            .values(status=status, error=error, finished_at=func.now(), heartbeat_at=None)
            .returning(ChatTurn.id)
        )
    return ended is not None


async def hand_back_turn(resources: Resources, turn_id: uuid.UUID, worker_id: str) -> bool:
    """Put a running turn back in the queue (a stopping worker's workflow chat turn: arq runs
    its cancelled job again on the next worker, and the re-run follows the same execution)."""
    async with transaction(resources.sessions) as session:
        back = await session.scalar(
            update(ChatTurn)
            .where(
                ChatTurn.id == turn_id,
                ChatTurn.worker_id == worker_id,
                ChatTurn.status == "running",
            )
            .values(
                status="queued",
                worker_id=None,
                heartbeat_at=func.now(),
                attempts=func.greatest(ChatTurn.attempts - 1, 0),
            )
            .returning(ChatTurn.id)
        )
    return back is not None


async def set_execution(resources: Resources, turn_id: uuid.UUID, execution_id: uuid.UUID) -> None:
    """Remember the execution a workflow chat's turn started (a re-run follows it)."""
    async with transaction(resources.sessions) as session:
        await session.execute(
            update(ChatTurn).where(ChatTurn.id == turn_id).values(execution_id=execution_id)
        )


async def beat_turns(resources: Resources, state: TurnWorker) -> None:
    """Refresh the heartbeat of the turns this worker runs."""
    ids = list(state.running)
    if not ids:
        return
    async with transaction(resources.sessions) as session:
        await session.execute(
            update(ChatTurn)
            .where(
                ChatTurn.id.in_(ids),
                ChatTurn.worker_id == state.worker_id,
                ChatTurn.status == "running",
            )
            .values(heartbeat_at=func.now())
        )


def _lost(attempts: int) -> dict[str, Any]:
    if attempts >= MAX_TURN_ATTEMPTS:
        detail = (
            f"the workers answering this message stopped {attempts} times; check the worker "
            "logs for what kills them, then send the message again"
        )
    else:
        detail = (
            "the worker answering this message stopped (killed or out of memory) before it "
            "finished; nothing more will come for it: send the message again"
        )
    return {"code": TURN_LOST, "detail": detail}


async def _reap_running(resources: Resources, cutoff: datetime) -> list[uuid.UUID]:
    # a workflow chat's turn may run again (its execution is durable and started once); an
    # agent's may not (its tool calls may have had effects), so it fails
    workflow_threads = select(ChatThread.id).where(ChatThread.workflow_id.is_not(None))
    async with transaction(resources.sessions) as session:
        again = (
            await session.execute(
                update(ChatTurn)
                .where(
                    ChatTurn.status == "running",
                    ChatTurn.heartbeat_at < cutoff,
                    ours(resources, ChatTurn),
                    ChatTurn.thread_id.in_(workflow_threads),
                    ChatTurn.attempts < MAX_TURN_ATTEMPTS,
                )
                .values(status="queued", worker_id=None, heartbeat_at=func.now())
                .returning(ChatTurn.id, ChatTurn.attempts)
            )
        ).all()
        failed = (
            await session.execute(
                update(ChatTurn)
                .where(
                    ChatTurn.status == "running",
                    ChatTurn.heartbeat_at < cutoff,
                    ours(resources, ChatTurn),
                )
                .values(status="failed", finished_at=func.now(), heartbeat_at=None)
                .returning(ChatTurn.id, ChatTurn.attempts)
            )
        ).all()
        for ident, attempts in failed:
            await session.execute(
                update(ChatTurn).where(ChatTurn.id == ident).values(error=_lost(attempts))
            )
    for ident, attempts in [*again, *failed]:
        await drop_dead_job(resources, job_id(ident, max(0, attempts - 1)))
    for ident, attempts in failed:
        log.warning("chat turn %s lost its worker; it ends with %s", ident, TURN_LOST)
        await publish_turn_event(resources, ident, "error", _lost(attempts))
    for ident, attempts in again:
        log.warning("chat turn %s lost its worker; queueing it again", ident)
        await enqueue_turn(resources, ident, attempts)
    return [ident for ident, _ in [*again, *failed]]


async def reap_turns(resources: Resources) -> list[uuid.UUID]:
    """One reaper pass over chat turns; returns the ids it ended or queued again."""
    cutoff = datetime.now(UTC) - timedelta(seconds=resources.settings.reap_after_seconds)

    async def enqueue(ident: uuid.UUID, attempts: int, suffix: str) -> None:
        await enqueue_turn(resources, ident, attempts, suffix=suffix)

    reaped = await _reap_running(resources, cutoff)
    return [*reaped, *await enqueue_orphans(resources, ChatTurn, "chat turn", enqueue, cutoff)]
