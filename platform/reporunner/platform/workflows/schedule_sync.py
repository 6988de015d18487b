"""Keep ``schedules`` rows equal to the ``trigger.schedule`` nodes of published versions.

Call :func:`sync_workflow_schedules` in the transaction that publishes, unpublishes, archives or
unarchives a workflow; :func:`reconcile_schedules` (run by the scheduler loop now and then) repairs
anything a publish path forgot. A row keeps its ``next_fire_at`` while its cron and time zone stay
the same, so republishing never skips or repeats a due tick.

It lives with the workflows because publishing calls it; the scheduler
(:mod:`reporunner.platform.schedules`), which starts executions, sits above both and re-exports
these names.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.builtin.trigger_schedule import ScheduleParams, next_fire_times
from reporunner.platform.db.models import Schedule, Workflow, WorkflowVersion

__all__ = [
    "SCHEDULE_TYPE",
    "reconcile_schedules",
    "schedule_nodes",
    "set_missed_policy",
    "sync_workflow_schedules",
]

SCHEDULE_TYPE = "trigger.schedule"
MISSED_POLICIES = ("skip", "run_once")


def schedule_nodes(definition: dict[str, Any]) -> dict[str, ScheduleParams]:
    """The valid ``trigger.schedule`` nodes of a definition, by node id."""
    found: dict[str, ScheduleParams] = {}
    for node in definition.get("nodes") or []:
        if not isinstance(node, dict) or node.get("type") != SCHEDULE_TYPE:
            continue
        try:
            found[str(node["id"])] = ScheduleParams.model_validate(node.get("params") or {})
        except (ValidationError, KeyError):
            continue  # validation refuses such definitions on save; never crash the scheduler
    return found


async def sync_workflow_schedules(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> list[Schedule]:
    """Make the workflow's schedule rows match its published, unarchived version.

    A workflow without a published version (or archived) keeps its rows, disabled, so that
    their missed-tick policy survives an unpublish/publish round trip.

    Returns:
        The workflow's enabled schedules after the sync.
    """
    now = now or datetime.now(UTC)
    workflow = await session.scalar(
        select(Workflow).where(Workflow.id == workflow_id, Workflow.workspace_id == workspace_id)
    )
    wanted: dict[str, ScheduleParams] = {}
    if workflow is not None and workflow.archived_at is None and workflow.published_version_id:
        definition = await session.scalar(
            select(WorkflowVersion.definition).where(
                WorkflowVersion.id == workflow.published_version_id
            )
        )
        wanted = schedule_nodes(definition or {})
    rows = {
        r.node_id: r
        for r in (
            await session.execute(
                select(Schedule)
                .where(Schedule.workspace_id == workspace_id, Schedule.workflow_id == workflow_id)
                .with_for_update()
            )
        ).scalars()
    }
    enabled: list[Schedule] = []
    for node_id, params in wanted.items():
        row = rows.pop(node_id, None)
        if row is None:
            row = Schedule(
                workspace_id=workspace_id, workflow_id=workflow_id, node_id=node_id,
                missed_policy="skip",
            )  # fmt: skip
            session.add(row)
        changed = row.cron != params.cron or row.timezone != params.timezone
        if changed or not row.enabled or row.next_fire_at is None:
            row.next_fire_at = next_fire_times(params, now)[0].astimezone(UTC)
        row.cron, row.timezone, row.enabled = params.cron, params.timezone, True
        enabled.append(row)
    for row in rows.values():
        row.enabled = False
        row.next_fire_at = None
    await session.flush()
    return enabled


async def reconcile_schedules(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Sync every workflow that has schedule rows or a published schedule trigger.

    Returns:
        How many workflows were synced.
    """
    probe = {"nodes": [{"type": SCHEDULE_TYPE}]}
    published = await session.execute(
        select(Workflow.workspace_id, Workflow.id)
        .join(WorkflowVersion, WorkflowVersion.id == Workflow.published_version_id)
        .where(Workflow.archived_at.is_(None), WorkflowVersion.definition.contains(probe))
    )
    existing = await session.execute(
        select(Schedule.workspace_id, Schedule.workflow_id).where(Schedule.enabled.is_(True))
    )
    pairs = {(r[0], r[1]) for r in published.all()} | {(r[0], r[1]) for r in existing.all()}
    for workspace_id, workflow_id in sorted(pairs):
        await sync_workflow_schedules(session, workspace_id, workflow_id, now=now)
    return len(pairs)


async def set_missed_policy(
    session: AsyncSession, workspace_id: uuid.UUID, schedule_id: uuid.UUID, policy: str
) -> bool:
    """Set a schedule's missed-tick policy (``skip`` or ``run_once``); False if not found."""
    if policy not in MISSED_POLICIES:
        raise ValueError(f"missed policy must be one of {MISSED_POLICIES}, got {policy!r}")
    done = await session.scalar(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.workspace_id == workspace_id)
        .values(missed_policy=policy)
        .returning(Schedule.id)
    )
    return done is not None
