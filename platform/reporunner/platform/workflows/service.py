"""Workflows and their immutable versions.

A definition is validated against the node registry before anything is stored; an invalid one
raises :class:`~reporunner.nodes.errors.ValidationFailed` listing every problem with its JSON
pointer (422). Saving a definition equal to the latest version (same content hash) returns that
version instead of a copy. Every query is scoped to the caller's workspace; a workflow of another
workspace is "not found". Each function works in the caller's session (the route's
``transaction``) and leaves the commit to it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ConflictError, NotFoundError, ValidationFailed
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.db.models.workflows import (
    Execution,
    Workflow,
    WorkflowTestRun,
    WorkflowVersion,
)
from reporunner.platform.engine import (
    WorkflowDefinition,
    content_hash,
    parse_definition,
    raise_for_problems,
    validate,
)
from reporunner.platform.engine.definition import load_raw
from reporunner.platform.workflows.references import check_references
from reporunner.platform.workflows.schedule_sync import sync_workflow_schedules
from reporunner.platform.workflows.schemas import (
    ProblemOut,
    ValidationOut,
    VersionOut,
    VersionSummary,
    WorkflowOut,
)
from reporunner.platform.workflows.webhook_paths import claimed_paths

__all__ = [
    "PublishedVersion",
    "archive_workflow",
    "check_definition",
    "create_workflow",
    "delete_workflow",
    "get_version",
    "get_workflow",
    "list_published",
    "list_versions",
    "list_workflows",
    "load_version",
    "publish_version",
    "save_version",
    "validate_definition",
]

RawDefinition = str | bytes | Mapping[str, Any]


def check_definition(raw: RawDefinition, registry: NodeRegistry) -> WorkflowDefinition:
    """Parse and validate a definition.

    Raises:
        ValidationFailed: every problem, each with a JSON pointer (parse problems included).
    """
    decoded = load_raw(raw)  # once: bounded, and not again for each step below
    problems = validate(decoded, registry)
    raise_for_problems(problems)
    return parse_definition(decoded)


def validate_definition(raw: RawDefinition, registry: NodeRegistry) -> ValidationOut:
    """Dry run: every problem of ``raw``, nothing saved.

    CPU-bound (decoding, validation, hashing): async callers run it in a worker thread.
    """
    try:
        raw = load_raw(raw)
    except ValidationFailed as err:
        return ValidationOut(
            valid=False,
            content_hash=None,
            problems=[ProblemOut(**p) for p in err.problems],
        )
    problems = validate(raw, registry)
    digest = None
    if not any(p.code in ("invalid_definition", "syntax_error") for p in problems):
        try:
            digest = content_hash(parse_definition(raw))
        except ValidationFailed:
            digest = None
    return ValidationOut(
        valid=not problems,
        content_hash=digest,
        problems=[ProblemOut(**p.as_dict()) for p in problems],
    )


async def _workflow(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID, *, lock: bool = False
) -> Workflow:
    query = select(Workflow).where(
        Workflow.id == workflow_id, Workflow.workspace_id == workspace_id
    )
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"workflow {workflow_id} does not exist in this workspace")
    return row


async def _latest(session: AsyncSession, workflow_id: uuid.UUID) -> WorkflowVersion | None:
    query = (
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.number.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _numbers(session: AsyncSession, wf: Workflow) -> tuple[int | None, int | None]:
    latest = await session.scalar(
        select(func.max(WorkflowVersion.number)).where(WorkflowVersion.workflow_id == wf.id)
    )
    published = None
    if wf.published_version_id is not None:
        published = await session.scalar(
            select(WorkflowVersion.number).where(WorkflowVersion.id == wf.published_version_id)
        )
    return latest, published


def _workflow_out(wf: Workflow, latest: int | None, published: int | None) -> WorkflowOut:
    return WorkflowOut(
        id=wf.id,
        name=wf.name,
        description=wf.description,
        latest_version=latest,
        published_version=published,
        created_at=wf.created_at,
        updated_at=wf.updated_at,
        archived=wf.archived_at is not None,
    )


def _summary(v: WorkflowVersion, wf: Workflow) -> dict[str, Any]:
    return {
        "id": v.id,
        "number": v.number,
        "content_hash": v.content_hash,
        "note": v.note,
        "created_at": v.created_at,
        "published": wf.published_version_id == v.id,
    }


def _version_out(v: WorkflowVersion, wf: Workflow, *, created: bool = False) -> VersionOut:
    return VersionOut(**_summary(v, wf), definition=v.definition, created=created)


async def _add_version(
    session: AsyncSession,
    wf: Workflow,
    defn: WorkflowDefinition,
    number: int,
    user_id: uuid.UUID | None,
    note: str,
) -> WorkflowVersion:
    version = WorkflowVersion(
        workspace_id=wf.workspace_id,
        workflow_id=wf.id,
        number=number,
        definition=defn.model_dump(mode="json"),
        content_hash=content_hash(defn),
        created_by=user_id,
        note=note,
    )
    session.add(version)
    wf.name = defn.name
    wf.description = defn.description
    wf.updated_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(version)
    return version


async def create_workflow(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    raw: RawDefinition,
    registry: NodeRegistry,
    *,
    user_id: uuid.UUID | None = None,
    note: str = "",
    publish: bool = False,
) -> tuple[WorkflowOut, VersionOut]:
    """Create a workflow whose version 1 is ``raw``.

    Raises:
        ValidationFailed: the definition is invalid (every problem listed).
    """
    defn = await asyncio.to_thread(check_definition, raw, registry)
    await check_references(session, workspace_id, defn)
    wf = Workflow(workspace_id=workspace_id, name=defn.name, description=defn.description)
    session.add(wf)
    await session.flush()
    version = await _add_version(session, wf, defn, 1, user_id, note)
    if publish:
        await _refuse_taken_paths(session, workspace_id, wf.id, version.definition)
        wf.published_version_id = version.id
    await session.flush()
    await session.refresh(wf)
    return _workflow_out(wf, 1, 1 if publish else None), _version_out(version, wf, created=True)


async def save_version(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    raw: RawDefinition,
    registry: NodeRegistry,
    *,
    user_id: uuid.UUID | None = None,
    note: str = "",
) -> VersionOut:
    """Save ``raw`` as the workflow's next version (or return the latest if it is equal).

    Raises:
        ValidationFailed: the definition is invalid (every problem listed).
        NotFoundError: no such workflow in the workspace.
        ConflictError: the workflow is archived.
    """
    defn = await asyncio.to_thread(check_definition, raw, registry)
    digest = await asyncio.to_thread(content_hash, defn)
    wf = await _workflow(session, workspace_id, workflow_id, lock=True)
    if wf.archived_at is not None:
        raise ConflictError(f"workflow {workflow_id} is archived; unarchive it to edit it")
    await check_references(session, workspace_id, defn)
    latest = await _latest(session, wf.id)
    if latest is not None and latest.content_hash == digest:
        return _version_out(latest, wf, created=False)
    number = (latest.number if latest is not None else 0) + 1
    version = await _add_version(session, wf, defn, number, user_id, note)
    return _version_out(version, wf, created=True)


async def list_workflows(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    include_archived: bool = False,
) -> list[WorkflowOut]:
    """Workflows of the workspace, newest first."""
    query = select(Workflow).where(Workflow.workspace_id == workspace_id)
    if not include_archived:
        query = query.where(Workflow.archived_at.is_(None))
    rows = (await session.execute(query.order_by(Workflow.created_at.desc()))).scalars()
    return [_workflow_out(wf, *await _numbers(session, wf)) for wf in rows.all()]


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """The published version of one unarchived workflow (see :func:`list_published`)."""

    workflow_id: uuid.UUID
    name: str
    description: str
    number: int
    definition: dict[str, Any]


async def list_published(session: AsyncSession, workspace_id: uuid.UUID) -> list[PublishedVersion]:
    """The published version of every unarchived workflow of the workspace, newest workflow
    first, in one query (workflows without a published version are left out)."""
    query = (
        select(
            Workflow.id,
            Workflow.name,
            Workflow.description,
            WorkflowVersion.number,
            WorkflowVersion.definition,
        )
        .join(WorkflowVersion, WorkflowVersion.id == Workflow.published_version_id)
        .where(Workflow.workspace_id == workspace_id, Workflow.archived_at.is_(None))
        .order_by(Workflow.created_at.desc())
    )
    rows = (await session.execute(query)).all()
    return [PublishedVersion(*row) for row in rows]


async def get_workflow(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID
) -> WorkflowOut:
    """One workflow. Raises NotFoundError outside the workspace."""
    wf = await _workflow(session, workspace_id, workflow_id)
    return _workflow_out(wf, *await _numbers(session, wf))


async def list_versions(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID
) -> list[VersionSummary]:
    """Versions of a workflow, newest first."""
    wf = await _workflow(session, workspace_id, workflow_id)
    query = (
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == wf.id)
        .order_by(WorkflowVersion.number.desc())
    )
    rows = (await session.execute(query)).scalars().all()
    return [VersionSummary(**_summary(v, wf)) for v in rows]


async def load_version(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    number: int | None = None,
) -> tuple[Workflow, WorkflowVersion]:
    """The workflow and one of its versions: ``number``, else the published one, else the latest.

    Raises:
        NotFoundError: no such workflow or version in the workspace.
    """
    wf = await _workflow(session, workspace_id, workflow_id)
    query = select(WorkflowVersion).where(WorkflowVersion.workflow_id == wf.id)
    if number is not None:
        query = query.where(WorkflowVersion.number == number)
    elif wf.published_version_id is not None:
        query = query.where(WorkflowVersion.id == wf.published_version_id)
    else:
        query = query.order_by(WorkflowVersion.number.desc()).limit(1)
    version = (await session.execute(query)).scalar_one_or_none()
    if version is None:
        which = f"version {number}" if number is not None else "any version"
        raise NotFoundError(f"workflow {workflow_id} has no {which}")
    return wf, version


async def get_version(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    number: int,
) -> VersionOut:
    """One version with its definition."""
    wf, version = await load_version(session, workspace_id, workflow_id, number)
    return _version_out(version, wf)


async def _sync_schedules(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID
) -> None:
    await sync_workflow_schedules(session, workspace_id, workflow_id)


async def _refuse_taken_paths(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    definition: dict[str, Any],
) -> None:
    """A webhook path belongs to one published workflow: a second one is refused (409)."""
    taken = await claimed_paths(session, workspace_id, workflow_id, definition)
    if taken:
        raise ConflictError(
            f"another published workflow already listens on {'; '.join(taken)}; give this "
            "webhook trigger another path, or unpublish or archive the other workflow"
        )


async def publish_version(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    number: int,
) -> WorkflowOut:
    """Make version ``number`` the one that runs by default (and for sub-workflow calls)."""
    wf = await _workflow(session, workspace_id, workflow_id, lock=True)
    _, version = await load_version(session, workspace_id, workflow_id, number)
    await _refuse_taken_paths(session, workspace_id, workflow_id, version.definition)
    await _require_passed_tests(session, workflow_id, version)
    wf.published_version_id = version.id
    wf.updated_at = datetime.now(UTC)
    await session.flush()
    # schedules follow the published version in the same transaction
    await _sync_schedules(session, workspace_id, workflow_id)
    return _workflow_out(wf, *await _numbers(session, wf))


class TestsRequired(ConflictError):
    """Publishing waits for a passed test run (``settings.require_passing_tests``)."""

    __test__ = False
    code = "tests_required"


async def _require_passed_tests(
    session: AsyncSession, workflow_id: uuid.UUID, version: WorkflowVersion
) -> None:
    """A version whose settings say ``require_passing_tests`` and that has test cases is
    published only after a passed run of all its cases."""
    definition = version.definition
    if not (definition.get("settings") or {}).get("require_passing_tests"):
        return
    if not definition.get("tests"):
        return
    passed = await session.scalar(
        select(WorkflowTestRun.id)
        .where(
            WorkflowTestRun.version_id == version.id,
            WorkflowTestRun.status == "passed",
            WorkflowTestRun.cases == [],
        )
        .limit(1)
    )
    if passed is None:
        raise TestsRequired(
            f"version {version.number} needs a passed run of all its test cases before it is "
            "published (its settings.require_passing_tests is true): run them with "
            f"POST /workflows/{workflow_id}/tests/run and publish when they pass"
        )


async def archive_workflow(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    *,
    archived: bool = True,
) -> WorkflowOut:
    """Archive (hide, refuse new runs) or unarchive a workflow; its history stays."""
    wf = await _workflow(session, workspace_id, workflow_id, lock=True)
    wf.archived_at = datetime.now(UTC) if archived else None
    wf.updated_at = datetime.now(UTC)
    await session.flush()
    await _sync_schedules(session, workspace_id, workflow_id)
    return _workflow_out(wf, *await _numbers(session, wf))


async def delete_workflow(
    session: AsyncSession, workspace_id: uuid.UUID, workflow_id: uuid.UUID
) -> None:
    """Delete a workflow with its versions, executions and node runs.

    Raises:
        ConflictError: an execution of it is still queued or running; cancel it first.
    """
    wf = await _workflow(session, workspace_id, workflow_id, lock=True)
    active = await session.scalar(
        select(func.count())
        .select_from(Execution)
        .where(Execution.workflow_id == wf.id, Execution.status.in_(("queued", "running")))
    )
    if active:
        raise ConflictError(
            f"workflow {workflow_id} has {active} queued or running execution(s); cancel "
            "them (or wait for them to end) before deleting it"
        )
    await session.execute(delete(Execution).where(Execution.workflow_id == wf.id))
    await session.delete(wf)
