"""Putting executions on the arq queue.

The ``executions`` row is the truth, the arq job only a wake-up call: a job is enqueued after
its row is committed, and the reaper enqueues again whatever a lost job left behind. The first
job of an execution has the execution id as its job id (so arq refuses an accidental second
enqueue); later ones (after a resume, a crash or a lost job) carry the attempt number, because
arq keeps finished job ids for a while and would refuse them.

A job is enqueued by one Lua script (:data:`ENQUEUE_SCRIPT`) that does what arq's
``enqueue_job`` does (refuse a job id that is queued or has a result, store the job, add it to
the queue) and wakes the workers, in one round trip instead of arq's four and a ``PUBLISH``.
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
    "enqueue_execution",
    "enqueue_job",
    "job_id",
    "wake_channel",
    "wake_workers",
]

JOB_NAME = "run_execution_job"
"""Name of the worker job that runs an execution."""

log = logging.getLogger("reporunner.executions")

ENQUEUE_SCRIPT = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('psetex', KEYS[1], ARGV[3], ARGV[4])
redis.call('zadd', KEYS[3], ARGV[2], ARGV[1])
if ARGV[5] ~= '' then redis.call('publish', ARGV[5], '1') end
return 1
"""
"""arq's enqueue plus the wake-up. KEYS: job key, result key, queue; ARGV: job id, score (ms),
expiry (ms), serialized job, wake channel (empty: a deferred job wakes nobody)."""


def wake_channel(queue_name: str) -> str:
    """Pub/sub channel idle workers listen on: a message means "a job is ready now"."""
    return f"{queue_name}:wake"


async def wake_workers(arq: ArqRedis, queue_name: str) -> None:
    """Tell idle workers to look at the queue now (never raises; they also poll)."""
    try:
        await arq.publish(wake_channel(queue_name), b"1")
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
    """Enqueue arq job ``job_name(*args)`` as ``ident`` and wake the idle workers, in one round
    trip (:data:`ENQUEUE_SCRIPT`); chat turns use it as executions do.

    Returns:
        True when a job was enqueued; False when arq already holds a job of that id.

    Raises:
        redis.exceptions.RedisError: Redis failed (the callers' reapers enqueue it later).
    """
    now = timestamp_ms()
    score = now + int((defer_seconds or 0) * 1000)
    job = serialize_job(job_name, args, {}, None, now, serializer=arq.job_serializer)
    added = await arq.register_script(ENQUEUE_SCRIPT)(  # EVALSHA (loads it once)
        keys=[job_key_prefix + ident, result_key_prefix + ident, queue_name],
        args=[
            ident,
            score,
            score - now + arq.expires_extra_ms,
            job,
            "" if defer_seconds else wake_channel(queue_name),
        ],
    )
    return bool(added)
