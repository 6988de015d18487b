"""Worker background tasks: heartbeat, reaper and the cancel listener.

* The heartbeat refreshes ``heartbeat_at`` of the executions this worker is running (only those
  it really runs: a job that ended without writing its outcome stops being refreshed, so the
  reaper gets it) and picks up cancel requests that the pub/sub message may have missed.
* The reaper puts ``running`` executions whose heartbeat is older than
  ``settings.reap_after_seconds`` back in the queue (or fails them after
  :data:`~reporunner.platform.executions.job_runner.MAX_ATTEMPTS` pick-ups), and enqueues ``queued``
  executions whose arq job is gone, or was taken by a worker that died before it claimed the
  row (the job stays "in progress" in arq for the whole job timeout). Every worker runs one;
  the conditional updates make two reapers harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.jobs import Job, JobStatus
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, func, or_, select, update

from reporunner.platform.db.models.workflows import Execution
from reporunner.platform.db.session import transaction
from reporunner.platform.executions.events import CANCEL_CHANNEL, publish_event
from reporunner.platform.executions.job_runner import MAX_ATTEMPTS, WorkerState
from reporunner.platform.executions.queue import enqueue_execution, job_id
from reporunner.platform.resources import Resources
from reporunner.platform.services.outage import is_service_down

__all__ = [
    "beat_once",
    "drop_dead_job",
    "enqueue_orphans",
    "listen_for_cancels",
    "ours",
    "reap_once",
    "run_every",
]

log = logging.getLogger("reporunner.executions")


async def beat_once(resources: Resources, state: WorkerState) -> None:
    """Refresh the heartbeat of this worker's executions; set the events of cancelled ones."""
    ids = [uuid.UUID(key) for key in state.running]
    if not ids:
        return
    async with transaction(resources.sessions) as session:
        rows = await session.execute(
            update(Execution)
            .where(Execution.id.in_(ids), Execution.worker_id == state.worker_id)
            .values(heartbeat_at=func.now())
            .returning(Execution.id, Execution.cancel_requested)
        )
        cancelled = [str(ident) for ident, flag in rows.all() if flag]
    for key in cancelled:
        event = state.running.get(key)
        if event is not None:
            event.set()


def ours(resources: Resources, model: Any = Execution) -> ColumnElement[bool]:
    """Rows (executions, chat turns) of this worker's queue, or of none (rows from before
    ``queue`` existed); another queue's rows are its own workers' to reap."""
    column = model.queue
    return or_(column.is_(None), column == resources.settings.queue_name)


async def _requeue_stale_running(resources: Resources) -> list[uuid.UUID]:
    settings = resources.settings
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.reap_after_seconds)
    async with transaction(resources.sessions) as session:
        rows = (
            await session.execute(
                update(Execution)
                .where(
                    Execution.status == "running",
                    Execution.heartbeat_at < cutoff,
                    ours(resources),
                )
                .values(status="queued", worker_id=None, heartbeat_at=func.now())
                .returning(Execution.id, Execution.attempts)
            )
        ).all()
        dead = [ident for ident, attempts in rows if attempts >= MAX_ATTEMPTS]
        error = {
            "code": "worker_lost",
            "message": f"the worker running it died {MAX_ATTEMPTS} times; check the worker logs "
            "for what kills it (memory?) and retry the execution",
        }
        if dead:
            await session.execute(
                update(Execution)
                .where(Execution.id.in_(dead), Execution.status == "queued")
                .values(status="failed", error=error, finished_at=func.now(), heartbeat_at=None)
            )
    for ident in dead:
        data = {"execution_id": str(ident), "status": "failed", "error": error}
        await publish_event(resources.redis, str(ident), "execution.finished", data)
    requeued = []
    for ident, attempts in rows:
        await drop_dead_job(resources, job_id(ident, max(0, attempts - 1)))
        if ident in dead:
            continue
        log.warning("execution %s lost its worker; queueing it again", ident)
        await enqueue_execution(resources.arq, settings.queue_name, ident, attempts)
        requeued.append(ident)
    return requeued


async def drop_dead_job(resources: Resources, *dead_jobs: str) -> None:
    """Remove the jobs a dead worker was running from arq's queue (one pipeline).

    arq keeps a started job in the queue under an in-progress key that lives as long as the
    job timeout (an hour): left there, it would sit at the head of the queue, which a worker
    reads only the first 100 entries of, and be re-checked on every poll.
    """
    try:
        async with resources.arq.pipeline(transaction=True) as pipe:
            for dead_job in dead_jobs:
                pipe.zrem(resources.settings.queue_name, dead_job)
                pipe.delete(
                    in_progress_key_prefix + dead_job,
                    job_key_prefix + dead_job,
                    retry_key_prefix + dead_job,
                )
            await pipe.execute()
    except (RedisError, OSError) as err:  # Redis away: one line, the next pass tries again
        log.warning("could not drop the dead jobs %s from the queue (%s)", dead_jobs, err)
    except Exception:
        log.warning("could not drop the dead jobs %s from the queue", dead_jobs, exc_info=True)


async def enqueue_orphans(
    resources: Resources,
    model: Any,
    what: str,
    enqueue: Callable[[uuid.UUID, int, str], Awaitable[object]],
    cutoff: datetime,
) -> list[uuid.UUID]:
    """Give a new job to stale ``queued`` rows of ``model`` (executions or chat turns) whose job
    is gone, or was taken by a worker that died before it claimed the row; ``enqueue(id,
    attempts, suffix)`` queues one. Returns their ids."""
    async with transaction(resources.sessions) as session:
        rows = (
            await session.execute(
                select(model.id, model.attempts)
                .where(
                    model.status == "queued",
                    ours(resources, model),
                    or_(
                        model.heartbeat_at < cutoff,
                        model.heartbeat_at.is_(None) & (model.created_at < cutoff),
                    ),
                )
                .limit(200)
            )
        ).all()
    found = []
    queue = resources.settings.queue_name
    for ident, attempts in rows:
        current = job_id(ident, attempts)
        status = await Job(current, resources.arq, _queue_name=queue).status()
        if status in (JobStatus.queued, JobStatus.deferred):
            continue
        if status == JobStatus.in_progress:
            # a worker took the job and never claimed the row (its first statement): it died
            # in between, and its job would stay "in progress" for the whole job timeout. A
            # duplicate is harmless (the claim is conditional): give it a new job
            log.warning("%s %s was taken by a worker that died before it started", what, ident)
            await drop_dead_job(resources, current)
        suffix = "" if status == JobStatus.not_found else uuid.uuid4().hex[:8]
        log.warning("%s %s is queued without a job; enqueueing it", what, ident)
        async with transaction(resources.sessions) as session:
            await session.execute(
                update(model)
                .where(model.id == ident, model.status == "queued")
                .values(heartbeat_at=func.now())
            )
        await enqueue(ident, attempts, suffix)
        found.append(ident)
    return found


async def reap_once(resources: Resources) -> list[uuid.UUID]:
    """One reaper pass; returns the ids it queued again."""
    settings = resources.settings
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.reap_after_seconds)

    async def enqueue(ident: uuid.UUID, attempts: int, suffix: str) -> None:
        await enqueue_execution(resources.arq, settings.queue_name, ident, attempts, suffix=suffix)

    requeued = await _requeue_stale_running(resources)
    return [*requeued, *await enqueue_orphans(resources, Execution, "execution", enqueue, cutoff)]


_CLOSE_SECONDS = 5.0


async def listen_for_cancels(resources: Resources, state: WorkerState) -> None:
    """Set the cancel event of executions named on the cancel channel (runs until cancelled)."""
    pubsub = resources.redis.pubsub()
    try:  # subscribing takes a connection: a cancel during it must still give it back
        await pubsub.subscribe(CANCEL_CHANNEL)
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            raw = message.get("data")
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            event = state.running.get(key)
            if event is not None:
                event.set()
    finally:  # shielded (this runs because the task is being cancelled) and bounded
        with anyio.move_on_after(_CLOSE_SECONDS, shield=True), contextlib.suppress(Exception):
            await pubsub.aclose()  # type: ignore[no-untyped-call]


async def run_every(seconds: float, step: Callable[[], Awaitable[Any]], name: str) -> None:
    """Call ``step`` every ``seconds`` until cancelled; a failing step is logged, not fatal."""
    failing = False
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if not failing:  # one line per outage, not one per round
                down = is_service_down(err)
                log.warning(
                    "%s failed (%s); trying again every %.1f s",
                    name,
                    f"{type(err).__name__}: {err}" if down else type(err).__name__,
                    seconds,
                    exc_info=not down,
                )
            failing = True
        else:
            if failing:
                log.info("%s works again", name)
            failing = False
        await asyncio.sleep(seconds)
