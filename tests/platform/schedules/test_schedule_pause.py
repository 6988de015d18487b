"""Pausing a schedule: a paused schedule never fires; a resume fires from the next tick after
the resume (never the ticks that fell in the pause); the API checks role, workspace and body."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from reporunner.nodes.registry import default_registry
from reporunner.platform.api.app import create_app
from reporunner.platform.auth import Principal
from reporunner.platform.db.models import AuditLog, Execution, Schedule
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.schedules import (
    ScheduleUpdate,
    scheduler_pass,
    sync_workflow_schedules,
    update_schedule,
)
from reporunner.platform.workflows import create_workflow

T0 = datetime(2030, 1, 7, 8, 59, 30, tzinfo=UTC)
HOURLY: dict[str, Any] = {
    "name": "hourly",
    "nodes": [{"id": "tick", "type": "trigger.schedule", "params": {"cron": "0 * * * *"}}],
    "edges": [],
}


@pytest.fixture
async def resources(settings) -> AsyncIterator[Resources]:
    own = await open_resources(settings.model_copy(update={"queue_name": f"t:{uuid.uuid4().hex}"}))
    yield own
    await own.close()


async def _schedule(resources: Resources, tenant) -> Schedule:
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(
            db, tenant.workspace_id, HOURLY, default_registry(), publish=True
        )
    async with resources.sessions() as session, session.begin():
        [row] = await sync_workflow_schedules(session, tenant.workspace_id, wf.id, now=T0)
    return row


def _principal(tenant) -> Principal:
    return Principal(tenant.workspace_id, tenant.slug, tenant.user_id, tenant.role)


async def _runs(resources: Resources, workflow_id: uuid.UUID) -> list[Execution]:
    async with resources.sessions() as session:
        rows = await session.execute(select(Execution).where(Execution.workflow_id == workflow_id))
        return list(rows.scalars())


async def test_a_paused_schedule_does_not_fire_and_resumes_at_the_next_tick(
    resources, tenant_factory
) -> None:
    tenant = await tenant_factory(role="editor")
    row = await _schedule(resources, tenant)
    assert row.next_fire_at == datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    async with transaction(resources.sessions) as session:
        paused = await update_schedule(
            session, _principal(tenant), row.id, ScheduleUpdate(paused=True)
        )
    assert paused.paused is True
    # 09:00 and 10:00 pass while it is paused: nothing fires, whatever the missed policy
    for now in (T0 + timedelta(seconds=31), T0 + timedelta(hours=1, seconds=31)):
        assert (await scheduler_pass(resources, now)).locked
    # (other tests' schedules may fire in the same passes: count this workflow's runs only)
    assert await _runs(resources, row.workflow_id) == []
    resumed_at = datetime(2030, 1, 7, 10, 20, tzinfo=UTC)
    async with transaction(resources.sessions) as session:
        await session.execute(
            Schedule.__table__.update()
            .where(Schedule.id == row.id)
            .values(missed_policy="run_once")
        )
        resumed = await update_schedule(
            session, _principal(tenant), row.id, ScheduleUpdate(paused=False), now=resumed_at
        )
    assert resumed.paused is False
    assert resumed.next_fire_at == datetime(2030, 1, 7, 11, 0, tzinfo=UTC)
    # right after the resume: the ticks of the pause do not fire (not even under run_once)
    assert (await scheduler_pass(resources, resumed_at + timedelta(seconds=5))).locked
    assert await _runs(resources, row.workflow_id) == []
    assert (await scheduler_pass(resources, datetime(2030, 1, 7, 11, 0, 2, tzinfo=UTC))).locked
    [run] = await _runs(resources, row.workflow_id)
    assert run.trigger["scheduled_at"] == "2030-01-07T11:00:00+00:00"
    async with resources.sessions() as session:
        actions = (
            await session.execute(
                select(AuditLog.action)
                .where(AuditLog.workspace_id == tenant.workspace_id)
                .where(AuditLog.target_id == str(row.id))
                .order_by(AuditLog.created_at)
            )
        ).scalars()
        assert list(actions) == ["schedule.paused", "schedule.resumed"]


async def test_pause_over_the_api_with_roles_and_hostile_bodies(
    settings, resources, tenant_factory
) -> None:
    editor = await tenant_factory(role="editor")
    viewer = await tenant_factory(role="viewer")
    stranger = await tenant_factory(role="owner")
    row = await _schedule(resources, editor)
    path = f"/schedules/{row.id}"
    async with AsyncTestClient(create_app(settings)) as client:
        paused = await client.patch(path, json={"paused": True}, headers=editor.headers)
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] is True
        [listed] = (await client.get("/schedules", headers=editor.headers)).json()
        assert listed["paused"] is True
        # another workspace's owner: not found, never forbidden, and nothing changes
        foreign = await client.patch(path, json={"paused": False}, headers=stranger.headers)
        assert foreign.status_code == 404, foreign.text
        # a viewer of its own workspace may not pause
        viewer_row = await _schedule(resources, viewer)
        denied = await client.patch(
            f"/schedules/{viewer_row.id}", json={"paused": True}, headers=viewer.headers
        )
        assert denied.status_code == 403, denied.text
        for body, field in (
            ({"paused": "please"}, "paused"),
            ({}, "missed_policy, paused"),
            ({"paused": True, "enabled": False}, "enabled"),
        ):
            bad = await client.patch(path, json=body, headers=editor.headers)
            assert bad.status_code == 400, (body, bad.text)
            assert bad.headers["content-type"].startswith("application/problem+json")
            assert field in bad.text
        resumed = await client.patch(path, json={"paused": False}, headers=editor.headers)
        assert resumed.json()["paused"] is False
        assert resumed.json()["next_fire_at"] is not None
    async with resources.sessions() as session:
        stored = await session.get(Schedule, row.id)
        assert stored is not None
        assert stored.paused is False


async def test_publishing_again_keeps_a_schedule_paused(resources, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    row = await _schedule(resources, tenant)
    async with transaction(resources.sessions) as session:
        await update_schedule(session, _principal(tenant), row.id, ScheduleUpdate(paused=True))
    async with resources.sessions() as session, session.begin():
        [synced] = await sync_workflow_schedules(
            session, tenant.workspace_id, row.workflow_id, now=T0 + timedelta(hours=2)
        )
        assert synced.id == row.id
        assert synced.paused is True
    assert (await scheduler_pass(resources, T0 + timedelta(hours=3, seconds=31))).locked
    assert await _runs(resources, row.workflow_id) == []
