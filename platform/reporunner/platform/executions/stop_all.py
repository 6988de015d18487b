"""Stop every run of a workspace before it is deleted.

Deleting a workspace must not leave its runs behind: a queued one would start on rows that are
gone, a running one would go on calling its nodes (and their credentials) and write node runs
and checkpoints for an execution that no longer exists. So deletion first ends them here:
queued and waiting executions are cancelled at once; running ones are asked to stop (the
cancel channel every worker listens on, as ``POST /executions/{id}/cancel`` does), and this
waits, with a deadline, until their workers have written them ``cancelled``. Ingestion jobs
stop by themselves once their documents are deleted (at their next embedding batch, writing
nothing), so deleting the rows is what stops them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from reporunner.platform.db.models.workflows import Execution
from reporunner.platform.db.session import transaction
from reporunner.platform.executions.events import CANCEL_CHANNEL, publish_event
from reporunner.platform.resources import Resources

__all__ = ["StoppedRuns", "stop_workspace_executions"]

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class StoppedRuns:
    """What :func:`stop_workspace_executions` did."""

    cancelled: int
    """Queued or waiting executions ended at once."""
    stopped: int
    """Running executions whose workers stopped them within the deadline."""
    still_running: int
    """Running executions still running at the deadline (their rows are deleted anyway; a
    worker's last write then finds nothing to update)."""


async def stop_workspace_executions(
    resources: Resources, workspace_id: uuid.UUID, *, deadline_seconds: float
) -> StoppedRuns:
    """Cancel the workspace's queued and waiting executions and stop its running ones.

    Args:
        resources: Database and Redis.
        workspace_id: The workspace about to be deleted.
        deadline_seconds: How long to wait for running executions to stop.
    """
    error = {
        "code": "execution_cancelled",
        "message": "the execution was cancelled: its workspace is being deleted",
    }
    async with transaction(resources.sessions) as session:
        ended = list(
            await session.scalars(
                update(Execution)
                .where(
                    Execution.workspace_id == workspace_id,
                    Execution.status.in_(("queued", "waiting")),
                )
                .values(
                    status="cancelled",
                    cancel_requested=True,
                    finished_at=datetime.now(UTC),
                    heartbeat_at=None,
                    error=error,
                )
                .returning(Execution.id)
            )
        )
        running = list(
            await session.scalars(
                update(Execution)
                .where(Execution.workspace_id == workspace_id, Execution.status == "running")
                .values(cancel_requested=True)
                .returning(Execution.id)
            )
        )
    for ident in ended:
        data = {"execution_id": str(ident), "status": "cancelled", "error": error}
        await publish_event(resources.redis, str(ident), "execution.finished", data)
    for ident in running:
        await resources.redis.publish(CANCEL_CHANNEL, str(ident))
    left = await _wait_until_stopped(resources, running, deadline_seconds)
    if left:
        log.warning(
            "workspace %s: %d execution(s) still running %.0f s after the cancel; deleting anyway",
            workspace_id,
            left,
            deadline_seconds,
        )
    return StoppedRuns(len(ended), len(running) - left, left)


async def _wait_until_stopped(
    resources: Resources, running: list[uuid.UUID], deadline_seconds: float
) -> int:
    """Poll until none of ``running`` is still running (or the deadline); how many are."""
    if not running:
        return 0
    deadline = time.monotonic() + deadline_seconds
    while True:
        async with resources.sessions() as session:
            left = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Execution)
                    .where(Execution.id.in_(running), Execution.status == "running")
                )
                or 0
            )
        if not left or time.monotonic() >= deadline:
            return left
        await asyncio.sleep(_POLL_SECONDS)
