"""``run_execution_job``: run one queued execution (see ``reporunner.platform.executions``)."""

from __future__ import annotations

import uuid
from typing import Any

from reporunner.platform.executions.job_runner import WorkerState, process_execution
from reporunner.platform.logs import bind_execution
from reporunner.platform.resources import Resources

__all__ = ["JOBS", "run_execution_job"]


async def run_execution_job(ctx: dict[str, Any], execution_id: str) -> str:
    """Claim and run ``execution_id``; a duplicate job of a running execution does nothing.

    Returns:
        ``skipped`` (not queued any more: another job has it, or it ended or was cancelled),
        ``requeued`` (infrastructure failure), or the execution's status.
    """
    resources: Resources = ctx["resources"]
    state: WorkerState = ctx["executions"]
    with bind_execution(execution_id):  # every log line of the run names the execution
        return await process_execution(resources, uuid.UUID(execution_id), state)


JOBS = [run_execution_job]
