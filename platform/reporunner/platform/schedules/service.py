"""Schedules of one workspace: list them, set their missed-tick policy, pause and resume."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.builtin.trigger_schedule import ScheduleParams, next_fire_times
from reporunner.nodes.errors import NotFoundError
from reporunner.platform.auth import Principal
from reporunner.platform.db.models import Schedule
from reporunner.platform.identity.audit import audit_entry
from reporunner.platform.schedules.schemas import ScheduleOut, ScheduleUpdate

__all__ = ["list_schedules", "update_schedule"]


def _out(row: Schedule) -> ScheduleOut:
    return ScheduleOut(
        id=row.id, workflow_id=row.workflow_id, node_id=row.node_id, cron=row.cron,
        timezone=row.timezone, missed_policy=cast(Literal["skip", "run_once"], row.missed_policy),
        enabled=row.enabled, paused=row.paused, next_fire_at=row.next_fire_at,
        last_fired_at=row.last_fired_at,
    )  # fmt: skip


async def list_schedules(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID | None = None
) -> list[ScheduleOut]:
    """The workspace's schedules (optionally of one workflow), next tick first."""
    query = select(Schedule).where(Schedule.workspace_id == principal.workspace_id)
    if workflow_id is not None:
        query = query.where(Schedule.workflow_id == workflow_id)
    rows = await session.execute(query.order_by(Schedule.next_fire_at.nulls_last(), Schedule.id))
    return [_out(r) for r in rows.scalars()]


async def update_schedule(
    session: AsyncSession,
    principal: Principal,
    schedule_id: uuid.UUID,
    body: ScheduleUpdate,
    *,
    now: datetime | None = None,
) -> ScheduleOut:
    """Set a schedule's missed-tick policy, or pause or resume it.

    A resumed schedule fires next at its first tick after ``now``: ticks that fell in the pause
    never fire, whatever the missed policy.

    Raises:
        NotFoundError: no such schedule in the workspace.
    """
    row = await session.scalar(
        select(Schedule)
        .where(Schedule.id == schedule_id, Schedule.workspace_id == principal.workspace_id)
        .with_for_update()
    )
    if row is None:
        raise NotFoundError(f"schedule {schedule_id} not found in this workspace")
    if body.missed_policy is not None and row.missed_policy != body.missed_policy:
        session.add(
            audit_entry(
                principal, "schedule.updated", "schedule", row.id,
                {"missed_policy": {"from": row.missed_policy, "to": body.missed_policy}},
            )
        )  # fmt: skip
        row.missed_policy = body.missed_policy
    if body.paused is not None and row.paused != body.paused:
        row.paused = body.paused
        if not body.paused and row.enabled:
            params = ScheduleParams(cron=row.cron, timezone=row.timezone)
            row.next_fire_at = next_fire_times(params, now or datetime.now(UTC))[0].astimezone(UTC)
        action = "schedule.paused" if body.paused else "schedule.resumed"
        session.add(audit_entry(principal, action, "schedule", row.id, {"node_id": row.node_id}))
    await session.flush()
    return _out(row)
