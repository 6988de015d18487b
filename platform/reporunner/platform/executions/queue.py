"""Putting executions on the arq queue.

The ``executions`` row is the truth, the arq job only a wake-up call: a job is enqueued after
its row is committed, and the reaper enqueues again whatever a lost job left behind. The first
job of an execution has the execution id as its job id (so arq refuses an accidental second
enqueue); later ones (after a resume, a crash or a lost job) carry the attempt number, because
arq keeps finished job ids for a while and would refuse them.
"""

from __future__ import annotations

import logging
import uuid

from arq.connections import ArqRedis

__all__ = ["JOB_NAME", "enqueue_execution", "job_id", "wake_channel", "wake_workers"]

JOB_NAME = "run_execution_job"
"""Name of the worker job that runs an execution."""

log = logging.getLogger("reporunner.executions")


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
    try:
        job = await arq.enqueue_job(
            JOB_NAME,
            str(execution_id),
            _job_id=job_id(execution_id, attempts, suffix),
            _queue_name=queue_name,
            _defer_by=defer_seconds,
        )
    except Exception:
        log.warning("could not enqueue execution %s; the reaper will", execution_id, exc_info=True)
        return False
    if job is not None and not defer_seconds:
        await wake_workers(arq, queue_name)
    return job is not None
