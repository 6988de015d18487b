"""Putting executions on the arq queue.

The ``executions`` row is the truth, the arq job only a wake-up call: a job is enqueued after
its row is committed, and the reaper enqueues again whatever a lost job left behind. The first
job of an execution has the execution id as its job id (so arq refuses an accidental second
enqueue); later ones (after a resume, a crash or a lost job) carry the attempt number, because
arq keeps finished job ids for a while and would refuse them.

A job is enqueued by one Lua script (:data:`ENQUEUE_SCRIPT`) that does what arq's
``enqueue_job`` does (refuse a job id that is queued or has a result, store the job, add it to
the queue) and hands the job id to *one* idle worker, in one round trip instead of arq's four.

The hand-over is a Redis list (:func:`ready_key`): the script pushes the id of a job that is due
now, and a worker with a free slot pops it (``BLPOP``) and claims that job directly, so each job
costs one pop and one claim in one worker instead of waking every worker to read the queue and
race for it. The list is capped at :data:`READY_CAP` ids; a job whose id was dropped (or popped
by a worker that died) is still in arq's queue, which every worker reads every ``poll_delay``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

__all__ = [
    "ENQUEUE_SCRIPT",
    "JOB_NAME",
    "READY_CAP",
    "enqueue_execution",
    "enqueue_job",
    "job_id",
    "ready_key",
    "wake_workers",
]

JOB_NAME = "run_execution_job"
"""Name of the worker job that runs an execution."""

log = logging.getLogger("reporunner.executions")

ENQUEUE_SCRIPT = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('psetex', KEYS[1], ARGV[3], ARGV[4])
redis.call('zadd', KEYS[3], ARGV[2], ARGV[1])
if ARGV[5] ~= '' then
  redis.call('rpush', KEYS[4], ARGV[1])
  redis.call('ltrim', KEYS[4], -tonumber(ARGV[5]), -1)
end
return 1
"""
"""arq's enqueue plus the hand-over to one worker. KEYS: job key, result key, queue, ready
list; ARGV: job id, score (ms), expiry (ms), serialized job, cap of the ready list (empty: a
deferred job is handed to nobody, the workers' poll finds it when it is due)."""

READY_CAP = 1000
"""Most job ids the ready list keeps (newest first kept): with no worker listening it does
not grow for ever, and a dropped id costs only a wait for the next poll."""


def ready_key(queue_name: str) -> str:
    """List of ids of jobs due now, each popped by one idle worker (see the module doc)."""
    return f"{queue_name}:ready"


async def wake_workers(arq: ArqRedis, queue_name: str) -> None:
    """Make one idle worker read the queue now (never raises; they also poll)."""
    try:
        await arq.rpush(ready_key(queue_name), b"")  # type: ignore[misc]
    except Exception:
        log.debug("could not wake the workers of %s", queue_name, exc_info=True)


def job_id(execution_id: uuid.UUID | str, attempts: int, suffix: str = "") -> str:
    """Job id of the next job of an execution that has been picked up ``attempts`` times."""
    base = str(execution_id) if attempts == 0 else f"{execution_id}:{attempts}"
    return f"{base}:{suffix}" if suffix else base


async def enqueue_execution(
    arq: ArqRedis,
    queue_name: str,
    execution_id: uuid.UUID | str,
    attempts: int = 0,
    *,
    suffix: str = "",
    defer_seconds: float | None = None,
) -> bool:
    """Enqueue the job of an execution; never raises.

    Returns:
        True when a job was enqueued; False when arq already holds a job of that id or Redis
        failed (the reaper enqueues it later either way).
    """
    ident = job_id(execution_id, attempts, suffix)
    try:
        return await enqueue_job(
            arq, queue_name, JOB_NAME, ident, (str(execution_id),), defer_seconds=defer_seconds
        )
    except Exception:
        log.warning("could not enqueue execution %s; the reaper will", execution_id, exc_info=True)
        return False


async def enqueue_job(
    arq: ArqRedis,
    queue_name: str,
    job_name: str,
    ident: str,
    args: tuple[Any, ...],
    *,
    defer_seconds: float | None = None,
) -> bool:
    """Enqueue arq job ``job_name(*args)`` as ``ident`` and hand a due one to one idle worker,
    in one round trip (:data:`ENQUEUE_SCRIPT`); chat turns use it as executions do.

    Returns:
        True when a job was enqueued; False when arq already holds a job of that id.

    Raises:
        redis.exceptions.RedisError: Redis failed (the callers' reapers enqueue it later).
    """
    now = timestamp_ms()
    score = now + int((defer_seconds or 0) * 1000)
    job = serialize_job(job_name, args, {}, None, now, serializer=arq.job_serializer)
    added = await arq.register_script(ENQUEUE_SCRIPT)(  # EVALSHA (loads it once)
        keys=[
            job_key_prefix + ident,
            result_key_prefix + ident,
            queue_name,
            ready_key(queue_name),
        ],
        args=[
            ident,
            score,
            score - now + arq.expires_extra_ms,
            job,
            "" if defer_seconds else READY_CAP,
        ],
    )
    return bool(added)
