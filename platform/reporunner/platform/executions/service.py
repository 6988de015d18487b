"""Executions: start (row first, then the queue), list, get, cancel, retry, resume, wait.

Every function is scoped to one workspace; an execution or workflow of another workspace is
"not found". Starting writes and commits the ``queued`` row before the job is enqueued, so a
failed enqueue or a lost job leaves a row the reaper finds, never a run nobody knows about.

Reads (:func:`get_execution`, :func:`list_executions`) work in the caller's session (a route's
``transaction``). Start, cancel, retry and resume open their own unit of work with
``db.session.transaction`` instead, because they must commit before they enqueue the job or
publish the cancel: a request transaction commits only after the handler returned.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes import tracing
from reporunner.nodes.base import Category
from reporunner.nodes.errors import ConflictError, NotFoundError, Problem, ValidationFailed
from reporunner.nodes.registry import default_registry
from reporunner.platform.db.models.workflows import Execution, NodeRun, WorkflowVersion
from reporunner.platform.db.session import transaction
from reporunner.platform.engine.durable_run import entry_trigger
from reporunner.platform.executions.events import (
    CANCEL_CHANNEL,
    publish_event,
    read_events,
    stream_key,
)
from reporunner.platform.executions.queue import enqueue_execution
from reporunner.platform.executions.schemas import ExecutionOut, ExecutionPage, NodeRunOut
from reporunner.platform.resources import Resources
from reporunner.platform.workflows.service import load_version

__all__ = [
    "ACTIVE",
    "TERMINAL",
    "PinnedVersion",
    "cancel_execution",
    "execution_now",
    "execution_out",
    "get_execution",
    "list_executions",
    "resume_execution",
    "retry_execution",
    "start_execution",
    "wait_for_execution",
]

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
ACTIVE = frozenset({"queued", "running"})


@dataclass(frozen=True, slots=True)
class PinnedVersion:
    """A version the caller has just read with its workflow (the webhook lookup reads the
    published version of an unarchived workflow): starting it needs no second read."""

    id: uuid.UUID
    definition: dict[str, Any]


def execution_out(row: Execution, node_runs: list[NodeRun] | None = None) -> ExecutionOut:
    """The API form of an execution row."""
    return ExecutionOut(
        id=row.id,
        workflow_id=row.workflow_id,
        version_id=row.version_id,
        status=row.status,
        trigger_type=row.trigger_type,
        trigger=row.trigger,
        result=row.result,
        error=row.error,
        waiting_payload=row.waiting_payload,
        parent_execution_id=row.parent_execution_id,
        attempts=row.attempts,
        cancel_requested=row.cancel_requested,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost_usd=float(row.cost_usd),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        node_runs=None if node_runs is None else [_node_run_out(n) for n in node_runs],
    )


def _node_run_out(n: NodeRun) -> NodeRunOut:
    return NodeRunOut(
        id=n.id,
        node_id=n.node_id,
        node_type=n.node_type,
        status=n.status,
        attempt=n.attempt,
        input=n.input,
        output=n.output,
        output_truncated=n.output_truncated,
        error=n.error,
        started_at=n.started_at,
        finished_at=n.finished_at,
        duration_ms=n.duration_ms,
        tokens_in=n.tokens_in,
        tokens_out=n.tokens_out,
        cost_usd=float(n.cost_usd),
    )


async def _row(
    session: AsyncSession, workspace_id: uuid.UUID, execution_id: uuid.UUID
) -> Execution:
    row = await session.scalar(
        select(Execution).where(
            Execution.id == execution_id, Execution.workspace_id == workspace_id
        )
    )
    if row is None:
        raise NotFoundError(f"execution {execution_id} does not exist in this workspace")
    return row


def _check_trigger_input(
    definition: dict[str, Any], item: dict[str, Any], trigger_type: str
) -> None:
    """Refuse (422) an input the entry trigger declares it does not take, before queueing.

    The run starts at :func:`~reporunner.platform.engine.entry_trigger` (the first trigger of
    the run's type, else the first trigger), so that node's ``check_start(params, item)`` hook
    (Manual: its ``input_schema`` against the whole item, Webhook: against the body) decides;
    triggers without the hook take anything.
    """
    registry = default_registry()
    triggers: dict[str, tuple[type[Any], dict[str, Any]]] = {}
    order: list[tuple[str, str]] = []
    for node in definition.get("nodes") or []:
        type_, version = node.get("type"), node.get("version", 1)
        if not isinstance(type_, str) or not registry.has(type_, version):
            continue
        node_cls = registry.get(type_, version)
        if node_cls.category != Category.TRIGGER:
            continue
        node_id = str(node.get("id"))
        triggers[node_id] = (node_cls, node.get("params") or {})
        order.append((node_id, type_))
    entry = entry_trigger(order, trigger_type)
    if entry is None:
        return
    node_cls, params = triggers[entry]
    hook = getattr(node_cls, "check_start", None)
    if callable(hook):
        hook(params, item)


async def start_execution(
    resources: Resources,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    trigger: dict[str, Any] | None = None,
    *,
    version: int | None = None,
    trigger_type: str = "manual",
    idempotency_key: str | None = None,
    parent_execution_id: uuid.UUID | None = None,
    depth: int = 0,
    pinned: PinnedVersion | None = None,
) -> ExecutionOut:
    """Queue a run of a workflow version and return the ``queued`` execution.

    Args:
        resources: Database and queue.
        workspace_id: The caller's workspace (the workflow must belong to it).
        workflow_id: Workflow to run.
        trigger: The trigger item.
        version: Version number (default: the published one, else the latest).
        trigger_type: What started it (``manual``, ``webhook``, ``schedule``, ``chat``...).
        idempotency_key: A second start with the same key returns the first execution.
        parent_execution_id: The execution whose sub-workflow node started this one.
        depth: Sub-workflow nesting level (0 for top-level runs).
        pinned: The version to run, already read by the caller (skips reading it again).

    Raises:
        NotFoundError: no such workflow or version in the workspace.
        ConflictError: the workflow is archived.
        ValidationFailed: the trigger declares an ``input_schema`` the item does not match
            (nothing is queued).
    """
    if pinned is None:
        async with transaction(resources.sessions) as session:
            wf, ver = await load_version(session, workspace_id, workflow_id, version)
            if wf.archived_at is not None:
                raise ConflictError(f"workflow {workflow_id} is archived; unarchive it to run it")
        pinned = PinnedVersion(ver.id, ver.definition)
    _check_trigger_input(pinned.definition, trigger or {}, trigger_type)
    values = {
        "workspace_id": workspace_id,
        "workflow_id": workflow_id,
        "version_id": pinned.id,
        "status": "queued",
        "trigger_type": trigger_type,
        "trigger": trigger or {},
        "idempotency_key": idempotency_key,
        "parent_execution_id": parent_execution_id,
        "depth": depth,
        "queue": resources.settings.queue_name,
        # the request's trace, for the worker's spans (None, and nothing to do, when off)
        "traceparent": tracing.current_traceparent(),
    }
    statement = insert(Execution).values(**values)
    if idempotency_key is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=["workspace_id", "workflow_id", "idempotency_key"],
            index_where=Execution.idempotency_key.is_not(None),
        )
    async with transaction(resources.autocommit) as session:  # one statement, one round trip
        created = await session.scalar(
            statement.returning(Execution), execution_options={"populate_existing": True}
        )
        if created is None:
            existing = await session.scalar(
                select(Execution).where(
                    Execution.workspace_id == workspace_id,
                    Execution.workflow_id == workflow_id,
                    Execution.idempotency_key == idempotency_key,
                )
            )
            assert existing is not None
            return execution_out(existing)
        out = execution_out(created)
    # committed: from here on the row exists whatever happens to the enqueue
    await enqueue_execution(resources.arq, resources.settings.queue_name, created.id)
    return out


async def get_execution(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    execution_id: uuid.UUID,
    *,
    with_node_runs: bool = True,
) -> ExecutionOut:
    """One execution, with its node runs in start order."""
    row = await _row(session, workspace_id, execution_id)
    runs = None
    if with_node_runs:
        query = (
            select(NodeRun)
            .where(NodeRun.execution_id == row.id, NodeRun.workspace_id == workspace_id)
            .order_by(NodeRun.started_at, NodeRun.id)
        )
        runs = list((await session.execute(query)).scalars().all())
    return execution_out(row, runs)


async def execution_now(
    resources: Resources, workspace_id: uuid.UUID, execution_id: uuid.UUID
) -> ExecutionOut:
    """The execution as it stands, read in a unit of work of its own (for code that waits on
    or follows a run outside a request's transaction)."""
    async with transaction(resources.sessions) as session:
        return await get_execution(session, workspace_id, execution_id, with_node_runs=False)


def _encode_cursor(row: Execution) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except ValueError as err:
        raise ValidationFailed(
            "the cursor is not one this API returned; pass next_cursor unchanged",
            [Problem("/cursor", "invalid_cursor", str(err))],
        ) from err


async def list_executions(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    workflow_id: uuid.UUID | None = None,
    statuses: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> ExecutionPage:
    """Executions newest first, filtered by workflow, status and creation time range."""
    query = select(Execution).where(Execution.workspace_id == workspace_id)
    if workflow_id is not None:
        query = query.where(Execution.workflow_id == workflow_id)
    if statuses:
        query = query.where(Execution.status.in_(statuses))
    if since is not None:
        query = query.where(Execution.created_at >= since)
    if until is not None:
        query = query.where(Execution.created_at < until)
    if cursor:
        stamp, ident = _decode_cursor(cursor)
        query = query.where(
            or_(
                Execution.created_at < stamp,
                and_(Execution.created_at == stamp, Execution.id < ident),
            )
        )
    query = query.order_by(Execution.created_at.desc(), Execution.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars().all())
    more = len(rows) > limit
    rows = rows[:limit]
    return ExecutionPage(
        items=[execution_out(r) for r in rows],
        next_cursor=_encode_cursor(rows[-1]) if more and rows else None,
    )


async def cancel_execution(
    resources: Resources, workspace_id: uuid.UUID, execution_id: uuid.UUID
) -> ExecutionOut:
    """Cancel an execution: at once when queued or waiting; a running one is told to stop.

    Raises:
        ConflictError: it has already ended.
    """
    now = datetime.now(UTC)
    error = {"code": "execution_cancelled", "message": "the execution was cancelled"}
    async with transaction(resources.sessions) as session:
        row = await _row(session, workspace_id, execution_id)
        stopped = await session.scalar(
            update(Execution)
            .where(Execution.id == row.id, Execution.status.in_(("queued", "waiting")))
            .values(status="cancelled", cancel_requested=True, finished_at=now, error=error)
            .returning(Execution.id)
        )
        running = None
        if stopped is None:
            running = await session.scalar(
                update(Execution)
                .where(Execution.id == row.id, Execution.status == "running")
                .values(cancel_requested=True)
                .returning(Execution.id)
            )
            if running is None:
                raise ConflictError(
                    f"execution {execution_id} has already ended ({row.status}); nothing to cancel"
                )
    if stopped is not None:
        data = {"execution_id": str(execution_id), "status": "cancelled", "error": error}
        await publish_event(resources.redis, str(execution_id), "execution.finished", data)
    else:
        await resources.redis.publish(CANCEL_CHANNEL, str(execution_id))
    return await execution_now(resources, workspace_id, execution_id)


async def retry_execution(
    resources: Resources, workspace_id: uuid.UUID, execution_id: uuid.UUID
) -> ExecutionOut:
    """Start a new execution of the same version with the same trigger item.

    Raises:
        ConflictError: the execution is still queued, running or waiting.
    """
    async with transaction(resources.sessions) as session:
        row = await _row(session, workspace_id, execution_id)
        if row.status not in TERMINAL:
            raise ConflictError(
                f"execution {execution_id} is {row.status}; retry it once it has ended (or "
                "cancel it first)"
            )
        number = await session.scalar(
            select(WorkflowVersion.number).where(WorkflowVersion.id == row.version_id)
        )
    return await start_execution(
        resources,
        workspace_id,
        row.workflow_id,
        dict(row.trigger),
        version=number,
        trigger_type="retry",
    )


async def resume_execution(
    resources: Resources, workspace_id: uuid.UUID, execution_id: uuid.UUID, payload: Any
) -> ExecutionOut:
    """Hand ``payload`` to the node a ``waiting`` execution waits in, and queue it again.

    Raises:
        ValidationFailed: the payload is null.
        ConflictError: the execution is not waiting.
    """
    if payload is None:
        raise ValidationFailed(
            'the resume payload must not be null; send e.g. {"payload": {"approved": true}}',
            [Problem("/payload", "null_payload", "payload is null")],
        )
    async with transaction(resources.sessions) as session:
        row = await _row(session, workspace_id, execution_id)
        attempts = await session.scalar(
            update(Execution)
            .where(Execution.id == row.id, Execution.status == "waiting")
            .values(status="queued", resume_payload={"value": payload}, heartbeat_at=None)
            .returning(Execution.attempts)
        )
        if attempts is None:
            raise ConflictError(
                f"execution {execution_id} is {row.status}; only a waiting execution can be resumed"
            )
    await enqueue_execution(resources.arq, resources.settings.queue_name, execution_id, attempts)
    return await execution_now(resources, workspace_id, execution_id)


async def wait_for_execution(
    resources: Resources, workspace_id: uuid.UUID, execution_id: uuid.UUID, timeout: float
) -> ExecutionOut:
    """Wait until the execution ends or waits for input, at most ``timeout`` seconds.

    Returns the execution as it stands then (still ``queued``/``running`` on timeout). Waiting
    blocks on the execution's event stream, so it wakes as soon as something happens.
    """
    deadline = time.monotonic() + timeout
    last = "0"
    while True:
        out = await execution_now(resources, workspace_id, execution_id)
        remaining = deadline - time.monotonic()
        if out.status not in ACTIVE or remaining <= 0:
            return out
        events = await read_events(resources.redis, str(execution_id), last)
        if events:
            last = events[-1].id
        block = max(1, int(min(remaining, 3.0) * 1000))
        await resources.redis.xread({stream_key(str(execution_id)): last}, block=block, count=1)
