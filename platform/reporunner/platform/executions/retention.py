"""Pruning old execution data (as n8n's execution pruning does), run by the workers.

* ``REPORUNNER_EXECUTION_RETENTION_DAYS``: ended executions (succeeded, failed, cancelled) that
  finished longer ago are deleted with their node runs and checkpoints, and so are ended chat
  turns (the bookkeeping of a worker's answer; the thread's messages stay) (0: kept forever).
* ``REPORUNNER_CHECKPOINT_RETENTION_HOURS``: checkpoints of ended executions older than this are
  deleted earlier, keeping the execution and its node runs (0: kept as long as the execution).
  A checkpoint is what lets a run continue after a crash or a wait; an ended run never
  continues, so its checkpoints are only history.
* ``REPORUNNER_EVENT_RETENTION_SECONDS``: how long an execution's event stream stays in Redis
  after its last event (replay for late SSE readers).

Each pass deletes at most :data:`BATCH` executions, so a large backlog is worked off over several
passes without one long transaction; a Redis lock makes one worker at a time do it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, text

from reporunner.platform.db.models.chat import ChatTurn
from reporunner.platform.db.models.workflows import Execution
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources

__all__ = ["BATCH", "PRUNE_INTERVAL_SECONDS", "prune_once"]

log = logging.getLogger("reporunner.executions")

BATCH = 500
PRUNE_INTERVAL_SECONDS = 60.0
_ENDED = ("succeeded", "failed", "cancelled")
_LOCK = "reporunner:retention:lock"
_CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")


async def _drop_checkpoints(resources: Resources, thread_ids: list[str]) -> None:
    async with transaction(resources.sessions) as session:
        for table in _CHECKPOINT_TABLES:
            await session.execute(
                text(f"DELETE FROM {table} WHERE thread_id = ANY(:ids)"),
                {"ids": thread_ids},
            )


async def prune_once(resources: Resources, now: datetime | None = None) -> dict[str, int]:
    """One pruning pass; returns how many executions, checkpointed runs and chat turns it
    cleared."""
    settings = resources.settings
    now = now or datetime.now(UTC)
    done = {"executions": 0, "checkpoints": 0, "chat_turns": 0}
    if not settings.execution_retention_days and not settings.checkpoint_retention_hours:
        return done
    if not await resources.redis.set(_LOCK, "1", nx=True, ex=int(PRUNE_INTERVAL_SECONDS)):
        return done  # another worker is pruning
    try:
        await _prune(resources, now, done)
    finally:
        await resources.redis.delete(_LOCK)
    if any(done.values()):
        log.info(
            "retention: deleted %d executions, the checkpoints of %d more, and %d chat turns",
            done["executions"],
            done["checkpoints"],
            done["chat_turns"],
        )
    return done


async def _prune_turns(resources: Resources, cutoff: datetime) -> int:
    """Ended chat turns that finished before ``cutoff`` (at most :data:`BATCH`)."""
    async with transaction(resources.sessions) as session:
        old = (
            select(ChatTurn.id)
            .where(ChatTurn.status.in_(("succeeded", "failed")), ChatTurn.finished_at < cutoff)
            .limit(BATCH)
            .scalar_subquery()
        )
        gone = await session.scalars(
            delete(ChatTurn).where(ChatTurn.id.in_(old)).returning(ChatTurn.id)
        )
        return len(gone.all())


async def _prune(resources: Resources, now: datetime, done: dict[str, int]) -> None:
    settings = resources.settings
    if settings.execution_retention_days:
        cutoff = now - timedelta(days=settings.execution_retention_days)
        async with transaction(resources.sessions) as session:
            ids = list(
                (
                    await session.scalars(
                        select(Execution.id)
                        .where(Execution.status.in_(_ENDED), Execution.finished_at < cutoff)
                        .limit(BATCH)
                    )
                ).all()
            )
            if ids:  # node runs go with them (ON DELETE CASCADE)
                await session.execute(delete(Execution).where(Execution.id.in_(ids)))
        if ids:
            await _drop_checkpoints(resources, [str(i) for i in ids])
            done["executions"] = len(ids)
        done["chat_turns"] = await _prune_turns(resources, cutoff)
    if settings.checkpoint_retention_hours:
        cutoff = now - timedelta(hours=settings.checkpoint_retention_hours)
        async with transaction(resources.sessions) as session:
            rows = await session.execute(
                text(
                    "SELECT DISTINCT c.thread_id FROM checkpoints c JOIN executions e "
                    "ON e.id::text = c.thread_id WHERE e.status = ANY(:ended) "
                    "AND e.finished_at < :cutoff LIMIT :batch"
                ),
                {"ended": list(_ENDED), "cutoff": cutoff, "batch": BATCH},
            )
            threads = [str(r[0]) for r in rows.all()]
        if threads:
            await _drop_checkpoints(resources, threads)
            done["checkpoints"] = len(threads)
