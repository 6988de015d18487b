"""Build an arq ``Worker`` bound to our resources.

Job functions are collected from the parts that define them (``job_functions``); the worker's
``ctx`` carries the shared :class:`~reporunner.platform.resources.Resources` under
``ctx["resources"]`` so that jobs never open their own engines or pools.
"""

from __future__ import annotations

import socket
import uuid

from arq.worker import Worker, func

from reporunner.platform.resources import Resources
from reporunner.platform.worker.jobs import JobFunction, discover_jobs

__all__ = ["build_worker", "job_functions"]


def job_functions() -> list[JobFunction]:
    """Every job this worker can run (see ``reporunner.platform.worker.jobs``)."""
    return discover_jobs()


def build_worker(
    resources: Resources, *, burst: bool = False, handle_signals: bool = True
) -> Worker:
    """An arq worker on the settings' queue, sharing ``resources`` with its jobs."""
    settings = resources.settings
    worker_id = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
    return Worker(
        functions=[func(f, name=f.__name__) for f in job_functions()],
        queue_name=settings.queue_name,
        redis_pool=resources.arq,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=settings.worker_concurrency,
        job_timeout=settings.execution_timeout_seconds + 60,
        keep_result=3600,
        ctx={"resources": resources, "worker_id": worker_id},
    )
