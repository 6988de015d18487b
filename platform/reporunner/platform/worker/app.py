"""Build an arq ``Worker`` bound to our resources.

Job functions are collected from the parts that define them (``job_functions``); the worker's
``ctx`` carries the shared :class:`~reporunner.platform.resources.Resources` under
``ctx["resources"]`` so that jobs never open their own engines or pools.

On start-up the worker opens the durable checkpointer (a pool of its own) and starts four
background tasks: the heartbeat of the executions it runs, the reaper that re-queues
executions of dead workers and lost jobs, the listener for cancel requests, the heartbeat and
reaper of chat turns (``reporunner.platform.chats.turns``), and the document
reaper (``reporunner.platform.knowledge.reaper``) that does the same for ingestions, and the
pruning of old executions (``reporunner.platform.executions.retention``). Their state is
``ctx["executions"]`` (a :class:`~reporunner.platform.executions.job_runner.WorkerState`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from arq.worker import func
from sqlalchemy.engine import make_url

from reporunner.nodes.registry import NodeRegistry, default_registry
from reporunner.platform.chats import TurnWorker, beat_turns, reap_turns
from reporunner.platform.engine import postgres_checkpointer
from reporunner.platform.executions.job_runner import WorkerState, process_execution
from reporunner.platform.executions.reaper import (
    beat_once,
    listen_for_cancels,
    reap_once,
    run_every,
)
from reporunner.platform.executions.retention import PRUNE_INTERVAL_SECONDS, prune_once
from reporunner.platform.jobcodec import ARQ_SERIALIZERS
from reporunner.platform.knowledge.reaper import reap_documents
from reporunner.platform.resources import Resources
from reporunner.platform.schedules.loop import SchedulerHandle, start_scheduler
from reporunner.platform.settings import Settings
from reporunner.platform.telemetry import start_tracing, stop_tracing
from reporunner.platform.worker.jobs import JobFunction, discover_jobs
from reporunner.platform.worker.jobs.chats import CHAT_STATE_KEY
from reporunner.platform.worker.loop import WakingWorker
from reporunner.platform.worker.node_services import PROVIDERS

__all__ = [
    "JOB_TIMEOUT_MARGIN_SECONDS",
    "build_worker",
    "job_functions",
    "job_timeout",
    "libpq_dsn",
]

log = logging.getLogger("reporunner.worker")

STATE_KEY = "executions"
_STACK_KEY = "_exit_stack"
_TASKS_KEY = "_background_tasks"
POLL_DELAY_SECONDS = 0.5
EXIT_WAIT_SECONDS = 10.0
"""How long the worker's exit waits for a cancelled background task to end before it leaves
the task behind with a log line (a task stuck in a network call must not keep a worker up)."""
"""How often an idle worker looks at the queue without being woken (deferred jobs, a missed
wake-up message); a job enqueued for now wakes the workers at once (``worker.loop``)."""


JOB_TIMEOUT_MARGIN_SECONDS = 120.0
"""How much longer arq lets a job run than the engine lets an execution run: the engine
times out first, records ``execution_timeout`` and ends the job; arq's cancel is a last resort."""


def job_timeout(settings: Settings) -> float:
    """arq's ``job_timeout``, derived from the engine's ``REPORUNNER_EXECUTION_TIMEOUT_SECONDS``."""
    return settings.execution_timeout_seconds + JOB_TIMEOUT_MARGIN_SECONDS


def job_functions() -> list[JobFunction]:
    """Every job this worker can run (see ``reporunner.platform.worker.jobs``)."""
    return discover_jobs()


def libpq_dsn(database_url: str) -> str:
    """The libpq form (``postgresql://``) of a SQLAlchemy URL, for psycopg and LangGraph."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


_SCHEDULER_KEY = "reporunner_scheduler"


def _reap_interval(resources: Resources) -> float:
    return max(0.2, min(5.0, resources.settings.reap_after_seconds / 4))


async def _startup(ctx: dict[str, Any]) -> None:
    resources: Resources = ctx["resources"]
    settings = resources.settings
    assert settings.database_url is not None
    stack = AsyncExitStack()
    ctx[_STACK_KEY] = stack
    if start_tracing(settings, "worker"):
        stack.push_async_callback(asyncio.to_thread, stop_tracing)  # flushes the last spans
    saver = await stack.enter_async_context(
        postgres_checkpointer(
            libpq_dsn(settings.database_url), max_size=settings.worker_concurrency + 2
        )
    )
    state = WorkerState(
        worker_id=ctx["worker_id"],
        registry=ctx["registry"],
        checkpointer=saver,
        providers=PROVIDERS,
    )
    ctx[STATE_KEY] = state
    turns = TurnWorker(
        ctx["worker_id"], run_execution=lambda ident: process_execution(resources, ident, state)
    )
    ctx[CHAT_STATE_KEY] = turns
    reap = _reap_interval(resources)
    background: list[tuple[str, float, Callable[[], Awaitable[Any]]]] = [
        ("heartbeat", settings.heartbeat_seconds, lambda: beat_once(resources, state)),
        ("reaper", reap, lambda: reap_once(resources)),
        ("cancel listener", 1.0, lambda: listen_for_cancels(resources, state)),
        ("document reaper", reap, lambda: reap_documents(resources)),
        ("chat turn heartbeat", settings.heartbeat_seconds, lambda: beat_turns(resources, turns)),
        ("chat turn reaper", reap, lambda: reap_turns(resources)),
        ("retention", PRUNE_INTERVAL_SECONDS, lambda: prune_once(resources)),
    ]
    ctx[_TASKS_KEY] = [
        asyncio.create_task(run_every(seconds, step, name), name=f"worker {name}")
        for name, seconds, step in background
    ]
    if ctx.get("schedules"):
        ctx[_SCHEDULER_KEY] = start_scheduler(resources)


async def _shutdown(ctx: dict[str, Any]) -> None:
    scheduler: SchedulerHandle | None = ctx.pop(_SCHEDULER_KEY, None)
    if scheduler is not None:
        await scheduler.stop()
    tasks: list[asyncio.Task[Any]] = ctx.pop(_TASKS_KEY, [])
    for task in tasks:
        task.cancel()
    if tasks:
        _, stuck = await asyncio.wait(tasks, timeout=EXIT_WAIT_SECONDS)
        for task in stuck:
            log.error(
                "worker exit: %s did not end %g s after it was cancelled; leaving it behind",
                task.get_name(),
                EXIT_WAIT_SECONDS,
            )
    stack: AsyncExitStack | None = ctx.pop(_STACK_KEY, None)
    if stack is not None:
        await stack.aclose()


def build_worker(
    resources: Resources,
    *,
    burst: bool = False,
    handle_signals: bool = True,
    registry: NodeRegistry | None = None,
) -> WakingWorker:
    """An arq worker on the settings' queue, sharing ``resources`` with its jobs.

    Args:
        resources: Shared database, Redis and queue connections.
        burst: Exit once the queue is empty (tests, one-off runs).
        handle_signals: Let arq install its SIGINT/SIGTERM handlers (the CLI installs its
            own, which stop the worker gracefully: see ``WakingWorker.stop``).
        registry: Node types executions may use (default: built-ins + entry points).
    """
    settings = resources.settings
    worker_id = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
    return WakingWorker(
        on_exit=_shutdown,
        functions=[func(f, name=f.__name__) for f in job_functions()],
        queue_name=settings.queue_name,
        redis_pool=resources.arq,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=settings.worker_concurrency,
        poll_delay=POLL_DELAY_SECONDS,
        job_timeout=job_timeout(settings),
        keep_result=3600,
        on_startup=_startup,
        on_shutdown=_shutdown,
        **ARQ_SERIALIZERS,  # JSON, never pickle: Redis contents are not trusted
        ctx={
            "resources": resources,
            "worker_id": worker_id,
            "registry": registry if registry is not None else default_registry(),
            # long-running workers fire schedules (a Redis lock makes each tick fire once
            # across all of them); burst workers only drain the queue
            "schedules": not burst,
        },
    )
