"""Run one queued execution on a worker: claim it, run the engine, record how it ended.

The claim is a conditional ``UPDATE ... WHERE status = 'queued'``: whichever job gets there
first runs the execution, a duplicate job finds it ``running`` (or ended) and does nothing. The
engine continues from the execution's last checkpoint (``thread_id`` = execution id), so a run
picked up again after a crash does not repeat completed nodes. Failures of the infrastructure
(the database went away mid-run) put the execution back in the queue a bounded number of times;
the final write is conditional on this worker still owning the execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from opentelemetry.trace import Span
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes import tracing
from reporunner.nodes.errors import ReporunnerError
from reporunner.nodes.registry import NodeRegistry
from reporunner.nodes.services import WEBHOOK_RESPONSE
from reporunner.platform.db.models.workflows import Execution, NodeRun, WorkflowVersion
from reporunner.platform.db.session import transaction
from reporunner.platform.engine import (
    CompiledWorkflow,
    ExecutionResult,
    compile_workflow,
    entry_trigger,
    parse_definition,
    run_execution,
)
from reporunner.platform.engine.durability import durability_of, langgraph_durability
from reporunner.platform.engine.execute import bound_ports
from reporunner.platform.executions.credentials import resolve_for_run
from reporunner.platform.executions.db_hooks import MAX_RECORD_BYTES, DatabaseHooks, EventSink
from reporunner.platform.executions.events import wake_webhook_waiters
from reporunner.platform.executions.node_services import RunInfo, ServiceProvider, build_services
from reporunner.platform.executions.queue import enqueue_execution
from reporunner.platform.resources import Resources

__all__ = ["MAX_ATTEMPTS", "WorkerState", "claim_execution", "process_execution"]

MAX_ATTEMPTS = 5
"""How often an execution is picked up before a crash loop is declared a failure."""
FAST_FLUSH_DELAY = 1.0
"""Seconds the node-run rows and the events of a ``fast`` execution wait to be written in one
batch (most such runs end sooner, and their rows and events go out with the outcome). It was
0.25 s: on a busy worker (c=32, 10 runs at a time sharing a starved core) most runs took longer
than that, so each paid one more transaction and one more event pipeline, which made the
worker slower still (``bench/execution_profile.py --concurrency 32``: node-run writes 1.7 and
commits 2.4 per execution, against 1.0 and 1.0 at c=1)."""

log = logging.getLogger("reporunner.executions")


@dataclass
class WorkerState:
    """What one worker shares between the executions it runs.

    Attributes:
        worker_id: Written on claimed rows; the heartbeat refreshes rows with this id.
        registry: Node types executions may use.
        checkpointer: Durable checkpointer (``None`` runs without durability: tests only).
        providers: The services offered to the nodes of every run (the worker passes
            :data:`reporunner.platform.worker.node_services.PROVIDERS`).
        running: Cancel event by execution id of the executions running here.
        listeners: Extra ``(event, data)`` callbacks for every event (the CLI prints them).
    """

    worker_id: str
    registry: NodeRegistry
    checkpointer: BaseCheckpointSaver[Any] | None
    providers: Sequence[ServiceProvider]
    running: dict[str, asyncio.Event] = field(default_factory=dict)
    listeners: list[Callable[[str, Any], None]] = field(default_factory=list)


async def claim_execution(
    session: AsyncSession, execution_id: uuid.UUID, worker_id: str, queue: str | None = None
) -> Execution | None:
    """Mark a queued execution ``running`` for ``worker_id``; None if it is not queued.

    ``queue``: the worker's queue, recorded so that only that queue's reapers re-queue it."""
    now = datetime.now(UTC)
    statement = (
        update(Execution)
        .where(
            Execution.id == execution_id,
            Execution.status == "queued",
            Execution.cancel_requested.is_(False),
        )
        .values(
            status="running",
            worker_id=worker_id,
            heartbeat_at=now,
            attempts=Execution.attempts + 1,
            started_at=func.coalesce(Execution.started_at, now),
            **({} if queue is None else {"queue": queue}),
        )
        .returning(Execution)
    )
    row: Execution | None = await session.scalar(
        statement, execution_options={"populate_existing": True}
    )
    return row


def _json_object(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return dict(value) if isinstance(value, dict) else {"value": value}


async def _finish(
    resources: Resources,
    row: Execution,
    worker_id: str,
    result: ExecutionResult,
    hooks: DatabaseHooks | None = None,
) -> bool:
    """Write the outcome (only while this worker still owns the row), with the node-run rows
    still pending in ``hooks``, in one transaction; True if written."""
    terminal = result.status != "waiting"
    totals = (
        select(
            func.coalesce(func.sum(NodeRun.tokens_in), 0),
            func.coalesce(func.sum(NodeRun.tokens_out), 0),
            func.coalesce(func.sum(NodeRun.cost_usd), 0),
        )
        .where(NodeRun.execution_id == row.id)
        .subquery()
    )
    values: dict[str, Any] = {
        "status": result.status,
        "error": result.error,
        "waiting_payload": _json_object(result.waiting_payload),
        "resume_payload": None,
        "heartbeat_at": None,
        "worker_id": None if result.status == "waiting" else worker_id,
        "tokens_in": select(totals.c[0]).scalar_subquery(),
        "tokens_out": select(totals.c[1]).scalar_subquery(),
        "cost_usd": select(totals.c[2]).scalar_subquery(),
    }
    if terminal:
        values["finished_at"] = datetime.now(UTC)
        values["result"] = {
            "final_items": bound_ports({"main": result.final_items}, MAX_RECORD_BYTES)["main"]
        }
    async with transaction(resources.sessions) as session:
        if hooks is not None:
            await hooks.flush(session)
        done = await session.scalar(
            update(Execution)
            .where(
                Execution.id == row.id,
                Execution.worker_id == worker_id,
                Execution.status == "running",
            )
            .values(**values)
            .returning(Execution.id)
        )
        if done is not None and (hooks is None or hooks.may_leave_running()):
            # node runs that never ended: cut off by a dead worker, or parked by an interrupt
            # (the node runs again, as a new row, when the execution continues)
            await session.execute(
                update(NodeRun)
                .where(NodeRun.execution_id == row.id, NodeRun.status == "running")
                .values(status="interrupted", finished_at=func.now())
            )
    return done is not None


async def _fail(
    resources: Resources, row: Execution, worker_id: str, error: dict[str, Any]
) -> None:
    await _finish(resources, row, worker_id, ExecutionResult("failed", error=error))


async def _requeue(resources: Resources, row: Execution, worker_id: str, err: Exception) -> None:
    """After an infrastructure failure: back to the queue, or failed after MAX_ATTEMPTS."""
    error = {"code": "infrastructure_error", "type": type(err).__name__, "message": str(err)}
    if row.attempts >= MAX_ATTEMPTS:
        error["message"] = f"gave up after {row.attempts} attempts: {err}"
        await _fail(resources, row, worker_id, error)
        return
    async with transaction(resources.sessions) as session:
        attempts = await session.scalar(
            update(Execution)
            .where(Execution.id == row.id, Execution.worker_id == worker_id)
            .values(status="queued", worker_id=None, heartbeat_at=func.now(), error=error)
            .returning(Execution.attempts)
        )
    if attempts is not None:
        await enqueue_execution(
            resources.arq,
            resources.settings.queue_name,
            row.id,
            attempts,
            defer_seconds=min(30.0, 2.0**attempts),
        )


_COMPILED: dict[tuple[uuid.UUID, int], tuple[uuid.UUID, NodeRegistry, CompiledWorkflow]] = {}
_COMPILED_MAX = 256


async def _load(session: AsyncSession, row: Execution, registry: NodeRegistry) -> CompiledWorkflow:
    """The compiled version of the execution; versions are immutable, so a worker keeps the
    ones it compiled (by version id and registry) and reads each from the database once."""
    key = (row.version_id, id(registry))
    cached = _COMPILED.get(key)
    if cached is not None and cached[0] == row.workspace_id and cached[1] is registry:
        return cached[2]
    version = await session.get(WorkflowVersion, row.version_id)
    if version is None or version.workspace_id != row.workspace_id:
        raise ReporunnerError(f"version {row.version_id} of execution {row.id} is gone")
    compiled = compile_workflow(parse_definition(version.definition), registry)
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[key] = (row.workspace_id, registry, compiled)
    return compiled


async def process_execution(
    resources: Resources, execution_id: uuid.UUID, state: WorkerState
) -> str:
    """Claim and run one execution; returns what happened (``skipped`` or the final status).

    Never raises for a failing workflow; infrastructure failures re-queue the execution.
    """
    async with transaction(resources.autocommit) as session:  # one statement
        row = await claim_execution(
            session, execution_id, state.worker_id, resources.settings.queue_name
        )
    if row is None:
        return await _cancel_if_requested(resources, execution_id)
    key = str(row.id)
    cancel = state.running.setdefault(key, asyncio.Event())
    try:
        async with transaction(resources.sessions) as session:
            compiled = await _load(session, row, state.registry)
            credentials = await resolve_for_run(
                session, resources, row.workspace_id, row.id, compiled
            )
        outcome = await _run(resources, row, compiled, credentials, state, cancel)
    except ReporunnerError as err:
        error = {"code": err.code, "type": type(err).__name__, "message": err.detail}
        await _fail(resources, row, state.worker_id, error)
        await _publish_finished(resources, row, "failed", error)
        outcome = "failed"
    except asyncio.CancelledError:
        # the worker is stopping and its grace period is over: the graph has stopped (see
        # ``engine.durable_run``); the next worker continues from the last checkpoint
        await asyncio.shield(_hand_back(resources, row, state.worker_id))
        raise
    except Exception as err:
        log.exception("execution %s hit an infrastructure failure", row.id)
        await _requeue(resources, row, state.worker_id, err)
        outcome = "requeued"
    finally:
        state.running.pop(key, None)
    return outcome


async def _hand_back(resources: Resources, row: Execution, worker_id: str) -> None:
    """Put a running execution back in the queue (its arq job stays queued: arq re-queues a
    cancelled job); the reaper does the same if this write fails."""
    try:
        async with transaction(resources.sessions) as session:
            back = await session.scalar(
                update(Execution)
                .where(
                    Execution.id == row.id,
                    Execution.worker_id == worker_id,
                    Execution.status == "running",
                )
                .values(
                    status="queued",
                    worker_id=None,
                    heartbeat_at=func.now(),
                    attempts=func.greatest(Execution.attempts - 1, 0),
                )
                .returning(Execution.id)
            )
            if back is not None:
                await session.execute(
                    update(NodeRun)
                    .where(NodeRun.execution_id == row.id, NodeRun.status == "running")
                    .values(status="interrupted", finished_at=func.now())
                )
        log.info("execution %s handed back to the queue (worker stopping)", row.id)
    except Exception:
        log.warning("could not hand execution %s back; the reaper will", row.id, exc_info=True)


async def _cancel_if_requested(resources: Resources, execution_id: uuid.UUID) -> str:
    """A queued execution with a cancel request (its worker died after the request) ends
    ``cancelled`` here instead of waiting in the queue forever."""
    error = {"code": "execution_cancelled", "message": "the execution was cancelled"}
    async with transaction(resources.autocommit) as session:  # one statement
        row = await session.scalar(
            update(Execution)
            .where(
                Execution.id == execution_id,
                Execution.status == "queued",
                Execution.cancel_requested.is_(True),
            )
            .values(status="cancelled", error=error, finished_at=func.now(), heartbeat_at=None)
            .returning(Execution)
        )
    if row is None:
        return "skipped"
    await _publish_finished(resources, row, "cancelled", error)
    return "cancelled"


async def _publish_finished(
    resources: Resources, row: Execution, status: str, error: dict[str, Any] | None
) -> None:
    sink = EventSink(resources.redis, str(row.id))
    data: dict[str, Any] = {"execution_id": str(row.id), "status": status}
    if error is not None:
        data["error"] = error
    await sink.publish("execution.finished", data)
    if row.trigger_type == "webhook":
        await wake_webhook_waiters(resources.redis, str(row.id))


async def _pending_resume(
    row: Execution, compiled: CompiledWorkflow, checkpointer: BaseCheckpointSaver[Any] | None
) -> Any:
    """The resume payload, if the execution still waits for it.

    The payload stays on the row until the run ends, so a worker lost right after a resume
    hands it over again; once the waiting node has consumed it (a checkpoint past the
    interrupt), continuing must not offer it to some later interrupt.
    """
    value = (row.resume_payload or {}).get("value")
    if value is None or checkpointer is None:
        return value
    graph = compiled.graph.copy(update={"checkpointer": checkpointer})
    snapshot = await graph.aget_state({"configurable": {"thread_id": str(row.id)}})
    return value if snapshot.interrupts else None


async def _run(
    resources: Resources,
    row: Execution,
    compiled: CompiledWorkflow,
    credentials: dict[str, Any],
    state: WorkerState,
    cancel: asyncio.Event,
) -> str:
    mode = durability_of(compiled)
    sink = EventSink(
        resources.redis,
        str(row.id),
        list(state.listeners),
        ttl=resources.settings.event_retention_seconds,
        # fast: usually one pipeline of events, with the outcome; durable: as they happen
        delay=0.0 if mode == "durable" else FAST_FLUSH_DELAY,
    )
    hooks = DatabaseHooks(
        sessions=resources.sessions,
        events=sink,
        execution_id=row.id,
        workspace_id=row.workspace_id,
        node_types={nid: cn.spec.type for nid, cn in compiled.nodes.items()},
        # durable: each row as soon as possible; fast: usually one write, with the outcome
        flush_delay=0.0 if mode == "durable" else FAST_FLUSH_DELAY,
    )
    with _execution_span(row, compiled) as span:
        try:
            status = await _run_with(resources, row, compiled, credentials, state, cancel, hooks)
        finally:
            await asyncio.shield(hooks.close())
        if span is not None:
            span.set_attribute("reporunner.execution.status", status)
    return status


def _execution_span(
    row: Execution, compiled: CompiledWorkflow
) -> contextlib.AbstractContextManager[Span | None]:
    """The run's span, a child of the span that started the execution (its ``traceparent``
    column), whichever worker runs it and however often it was re-queued; a no-op while
    tracing is off."""
    if not tracing.enabled():
        return tracing.span("")
    return tracing.span(
        "run execution",
        {
            "reporunner.execution.id": str(row.id),
            "reporunner.workflow.id": str(row.workflow_id),
            "reporunner.workspace.id": str(row.workspace_id),
            "reporunner.execution.attempt": row.attempts,
            "reporunner.trigger.type": row.trigger_type,
            "reporunner.durability": durability_of(compiled),
        },
        kind=tracing.SpanKind.CONSUMER,
        parent=tracing.parent_from(row.traceparent),
    )


async def _run_with(
    resources: Resources,
    row: Execution,
    compiled: CompiledWorkflow,
    credentials: dict[str, Any],
    state: WorkerState,
    cancel: asyncio.Event,
    hooks: DatabaseHooks,
) -> str:
    info = RunInfo(
        row.id,
        row.workflow_id,
        row.depth,
        compiled,
        state.checkpointer,
        state.registry,
        row.trigger_type,
    )
    services = build_services(resources, row.workspace_id, info, state.providers)
    responder = services.get(WEBHOOK_RESPONSE)
    resume = await _pending_resume(row, compiled, state.checkpointer)
    result = await run_execution(
        compiled,
        execution_id=str(row.id),
        workspace_id=str(row.workspace_id),
        trigger=dict(row.trigger),
        checkpointer=state.checkpointer,
        hooks=hooks,
        services=services,
        credentials=credentials,
        resume=resume,
        cancel_event=cancel,
        trigger_node=entry_trigger(
            [(nid, compiled.nodes[nid].spec.type) for nid in compiled.triggers], row.trigger_type
        ),
        durability=langgraph_durability(compiled),
        max_output_bytes=resources.settings.max_output_bytes,
        max_seconds=resources.settings.execution_timeout_seconds,
        # the claim sets started_at only if it was unset, to the heartbeat's time: equal means
        # this is the first claim ever, so no checkpoint (and no earlier node run) exists
        fresh=row.started_at == row.heartbeat_at,
    )
    hooks.first_claim = row.started_at == row.heartbeat_at
    if await _finish(resources, row, state.worker_id, result, hooks):
        await hooks.flush_finished(result.status, result.error)
        if row.trigger_type == "webhook" and not getattr(responder, "answered", False):
            await wake_webhook_waiters(resources.redis, str(row.id))  # no answer will come
    return result.status
