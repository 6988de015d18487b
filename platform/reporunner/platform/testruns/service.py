"""Test runs: the row, the queue job, and what the worker does with it."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import (
    NotFoundError,
    Problem,
    ReporunnerError,
    ValidationFailed,
)
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.db.models.workflows import WorkflowTestRun, WorkflowVersion
from reporunner.platform.db.session import transaction
from reporunner.platform.engine import compile_workflow, parse_definition
from reporunner.platform.executions import RunInfo, build_services
from reporunner.platform.executions.credentials import resolve_for_run
from reporunner.platform.executions.node_services import ServiceProvider
from reporunner.platform.executions.queue import wake_workers
from reporunner.platform.resources import Resources
from reporunner.platform.workflows import load_version
from reporunner.platform.workflows.testing import case_runner, llm_judge, run_tests

__all__ = [
    "JOB_NAME",
    "TestRunOut",
    "TestRunRequest",
    "execute_test_run",
    "get_test_run",
    "list_test_runs",
    "start_test_run",
    "wait_for_test_run",
]

JOB_NAME = "run_workflow_tests"
ACTIVE = ("queued", "running")
POLL_SECONDS = 0.2
log = logging.getLogger("reporunner.testruns")


class TestRunRequest(BaseModel):
    """What to test: a version (the published one, else the latest, if null) and cases."""

    __test__ = False
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(None, ge=1, description="Version number to test.")
    cases: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Names of the cases to run; empty runs every case.",
    )


class TestRunOut(BaseModel):
    """A test run and, once it ended, its report."""

    __test__ = False

    id: uuid.UUID
    workflow_id: uuid.UUID
    version: int = Field(description="The version the cases ran against.")
    status: str = Field(description="queued, running, passed, failed or error.")
    cases: list[str] = Field(description="Case names asked for (empty: all).")
    report: dict[str, Any] | None = Field(
        None,
        description="passed, total, failed, tokens, cost_usd and every case with its status, "
        "error and assertions (each with passed and a message).",
    )
    error: dict[str, Any] | None = Field(None, description="Why the run could not test.")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


def _out(row: WorkflowTestRun) -> TestRunOut:
    return TestRunOut(
        id=row.id,
        workflow_id=row.workflow_id,
        version=row.version_number,
        status=row.status,
        cases=list(row.cases),
        report=row.report,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _check_cases(definition: dict[str, Any], asked: Sequence[str], number: int) -> None:
    names = [str(t.get("name")) for t in definition.get("tests") or []]
    if not names:
        raise ValidationFailed(
            f"version {number} has no test cases; add a 'tests' list to the definition and "
            "save a new version",
            [Problem("/version", "no_test_cases", "this version has no test cases")],
        )
    unknown = [name for name in asked if name not in names]
    if unknown:
        raise ValidationFailed(
            f"no test case {', '.join(map(repr, unknown))} in version {number} "
            f"(cases: {', '.join(names)})",
            [Problem("/cases", "unknown_test_case", f"unknown: {', '.join(unknown)}")],
        )


async def start_test_run(
    resources: Resources,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    body: TestRunRequest,
    *,
    user_id: uuid.UUID | None,
) -> TestRunOut:
    """Store a queued test run of a version's cases and queue its job (after the commit).

    Raises:
        NotFoundError: no such workflow or version in the workspace.
        ValidationFailed: the version has no test cases, or a named case does not exist.
    """
    async with transaction(resources.sessions) as session:
        _, version = await load_version(session, workspace_id, workflow_id, body.version)
        _check_cases(version.definition, body.cases, version.number)
        row = WorkflowTestRun(
            workspace_id=workspace_id,
            workflow_id=workflow_id,
            version_id=version.id,
            version_number=version.number,
            status="queued",
            cases=list(dict.fromkeys(body.cases)),
            created_by=user_id,
        )
        session.add(row)
        await session.flush()
        await session.refresh(row)
        out = _out(row)
    await resources.arq.enqueue_job(JOB_NAME, str(out.id), _job_id=f"test-run:{out.id}")
    await wake_workers(resources.arq, resources.settings.queue_name)
    return out


async def get_test_run(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID, run_id: uuid.UUID
) -> TestRunOut:
    """One test run of the workflow.

    Raises:
        NotFoundError: no such run of this workflow in the workspace.
    """
    row = await session.scalar(
        select(WorkflowTestRun).where(
            WorkflowTestRun.id == run_id,
            WorkflowTestRun.workflow_id == workflow_id,
            WorkflowTestRun.workspace_id == workspace_id,
        )
    )
    if row is None:
        raise NotFoundError(f"test run {run_id} of workflow {workflow_id} does not exist")
    return _out(row)


async def list_test_runs(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID, limit: int = 50
) -> list[TestRunOut]:
    """The workflow's test runs, newest first."""
    await load_version(session, workspace_id, workflow_id)  # 404 for another workspace's
    rows = await session.scalars(
        select(WorkflowTestRun)
        .where(
            WorkflowTestRun.workflow_id == workflow_id,
            WorkflowTestRun.workspace_id == workspace_id,
        )
        .order_by(WorkflowTestRun.created_at.desc(), WorkflowTestRun.id)
        .limit(max(1, min(limit, 200)))
    )
    return [_out(r) for r in rows]


async def wait_for_test_run(
    resources: Resources,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    run_id: uuid.UUID,
    timeout: float,
) -> TestRunOut:
    """The run once it ended, or as it stands after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        async with resources.sessions() as session:
            out = await get_test_run(session, workspace_id, workflow_id, run_id)
        if out.status not in ACTIVE or time.monotonic() >= deadline:
            return out
        await asyncio.sleep(POLL_SECONDS)


async def _claim(resources: Resources, run_id: uuid.UUID) -> WorkflowTestRun | None:
    async with transaction(resources.sessions) as session:
        row = await session.scalar(
            update(WorkflowTestRun)
            .where(WorkflowTestRun.id == run_id, WorkflowTestRun.status.in_(ACTIVE))
            .values(status="running", started_at=datetime.now(UTC))
            .returning(WorkflowTestRun)
        )
        return row


async def _finish(
    resources: Resources,
    run_id: uuid.UUID,
    status: str,
    report: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    async with transaction(resources.sessions) as session:
        await session.execute(
            update(WorkflowTestRun)
            .where(WorkflowTestRun.id == run_id)
            .values(status=status, report=report, error=error, finished_at=datetime.now(UTC))
        )


async def execute_test_run(
    resources: Resources,
    run_id: uuid.UUID,
    registry: NodeRegistry,
    providers: Sequence[ServiceProvider],
) -> str:
    """Run a queued test run's cases (the worker's job); its final status.

    A run found ``running`` is run again from the start (its worker died: cases have no
    side effects on the platform's own rows, and nothing of a half run was stored).
    """
    row = await _claim(resources, run_id)
    if row is None:
        return "gone"
    try:
        async with transaction(resources.sessions) as session:
            version = await session.get(WorkflowVersion, row.version_id)
            if version is None or version.workspace_id != row.workspace_id:
                raise NotFoundError(f"version {row.version_number} of the workflow is gone")
            compiled = compile_workflow(parse_definition(version.definition), registry)
            credentials = await resolve_for_run(
                session, resources, row.workspace_id, row.id, compiled
            )
        info = RunInfo(row.id, row.workflow_id, 0, compiled, None, registry, "manual")
        services = build_services(resources, row.workspace_id, info, providers)
        cases = [c for c in compiled.definition.tests if not row.cases or c.name in row.cases]
        settings = resources.settings
        report = await run_tests(
            cases,
            case_runner(
                compiled,
                workspace_id=str(row.workspace_id),
                services=services,
                credentials=credentials,
                max_output_bytes=settings.max_output_bytes,
                max_seconds=settings.execution_timeout_seconds,
            ),
            judge=llm_judge(settings.llm_model),
        )
    except ReporunnerError as err:
        error = {"code": err.code, "message": err.detail}
        await _finish(resources, run_id, "error", error=error)
        return "error"
    status = "passed" if report.passed else "failed"
    await _finish(resources, run_id, status, report=report.as_json())
    log.info("test run %s of workflow %s: %s", run_id, row.workflow_id, status)
    return status
