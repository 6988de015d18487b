"""Schedules: sync on publish, missed-tick policies, and exactly-once with two racing loops."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from reporunner.nodes.builtin.trigger_schedule import ScheduleParams
from reporunner.nodes.registry import default_registry
from reporunner.platform.api.app import create_app
from reporunner.platform.db.models import Execution, Schedule, Workflow
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.schedules import (
    due_ticks,
    run_scheduler,
    scheduler_pass,
    set_missed_policy,
    start_scheduler,
    sync_workflow_schedules,
)
from reporunner.platform.workflows import create_workflow, save_version

T0 = datetime(2030, 1, 7, 8, 59, 30, tzinfo=UTC)
EVERY_MINUTE = ScheduleParams(cron="* * * * *")


def _definition(cron: str = "* * * * *", zone: str = "UTC") -> dict[str, Any]:
    return {
        "name": "ticking",
        "nodes": [
            {"id": "tick", "type": "trigger.schedule", "params": {"cron": cron, "timezone": zone}}
        ],
        "edges": [],
    }


@pytest.fixture
async def resources(settings) -> AsyncIterator[Resources]:
    own = await open_resources(settings.model_copy(update={"queue_name": f"t:{uuid.uuid4().hex}"}))
    yield own
    await own.close()


async def _scheduled_workflow(
    resources: Resources, tenant, now: datetime, cron: str = "* * * * *"
) -> uuid.UUID:
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(
            db, tenant.workspace_id, _definition(cron), default_registry(), publish=True
        )
    async with resources.sessions() as session, session.begin():
        await sync_workflow_schedules(session, tenant.workspace_id, wf.id, now=now)
    return wf.id


async def _runs(resources: Resources, workflow_id: uuid.UUID) -> list[Execution]:
    async with resources.sessions() as session:
        rows = await session.execute(select(Execution).where(Execution.workflow_id == workflow_id))
        return list(rows.scalars())


def test_an_on_time_tick_fires() -> None:
    due = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    fire, upcoming = due_ticks(EVERY_MINUTE, due, due + timedelta(seconds=2), "skip")
    assert fire == [due]
    assert upcoming == due + timedelta(minutes=1)


def test_missed_ticks_follow_the_policy() -> None:
    due = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    now = due + timedelta(hours=3, seconds=10)
    skipped, upcoming = due_ticks(EVERY_MINUTE, due, now, "skip")
    once, upcoming_once = due_ticks(EVERY_MINUTE, due, now, "run_once")
    # the 12:00 tick is 10 s old: on time, so it fires under both policies; nothing older does
    assert skipped == [datetime(2030, 1, 1, 12, 0, tzinfo=UTC)]
    assert once == skipped
    assert upcoming == upcoming_once == datetime(2030, 1, 1, 12, 1, tzinfo=UTC)
    hourly = ScheduleParams(cron="0 * * * *")
    late = datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
    assert due_ticks(hourly, due, late, "skip")[0] == []
    assert due_ticks(hourly, due, late, "run_once")[0] == [datetime(2030, 1, 1, 12, 0, tzinfo=UTC)]
    assert due_ticks(hourly, due, late, "skip")[1] == datetime(2030, 1, 1, 13, 0, tzinfo=UTC)


async def test_publish_sync_keeps_the_next_tick_and_disables_removed_nodes(
    resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    workflow_id = await _scheduled_workflow(resources, tenant, T0)
    async with resources.sessions() as session, session.begin():
        [row] = await sync_workflow_schedules(session, tenant.workspace_id, workflow_id, now=T0)
        assert row.next_fire_at == datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
        later = await sync_workflow_schedules(
            session, tenant.workspace_id, workflow_id, now=T0 + timedelta(minutes=5)
        )
        assert later[0].next_fire_at == row.next_fire_at  # unchanged cron: the due tick stays
    async with resources.sessions() as session, session.begin():
        await session.execute(
            update(Workflow).where(Workflow.id == workflow_id).values(published_version_id=None)
        )
        assert await sync_workflow_schedules(session, tenant.workspace_id, workflow_id) == []
        stored = await session.scalar(select(Schedule).where(Schedule.workflow_id == workflow_id))
        assert stored is not None
        assert stored.enabled is False


async def test_a_changed_cron_moves_the_next_tick(resources, tenant_factory) -> None:
    tenant = await tenant_factory()
    workflow_id = await _scheduled_workflow(resources, tenant, T0)
    async with transaction(resources.sessions) as db:
        version = await save_version(
            db, tenant.workspace_id, workflow_id,
            _definition("0 9 * * *", "Europe/Berlin"), default_registry(),
        )  # fmt: skip
    async with resources.sessions() as session, session.begin():
        await session.execute(
            update(Workflow)
            .where(Workflow.id == workflow_id)
            .values(published_version_id=version.id)
        )
        [row] = await sync_workflow_schedules(session, tenant.workspace_id, workflow_id, now=T0)
    assert row.next_fire_at == datetime(2030, 1, 8, 8, 0, tzinfo=UTC)  # 09:00 Berlin = 08:00 UTC
    assert row.timezone == "Europe/Berlin"


async def test_downtime_skip_and_run_once(resources, tenant_factory) -> None:
    tenant = await tenant_factory()
    skip_wf = await _scheduled_workflow(resources, tenant, T0, "0 * * * *")
    once_wf = await _scheduled_workflow(resources, tenant, T0, "0 * * * *")
    async with resources.sessions() as session, session.begin():
        once = await session.scalar(select(Schedule).where(Schedule.workflow_id == once_wf))
        assert once is not None
        assert await set_missed_policy(session, tenant.workspace_id, once.id, "run_once")
        assert not await set_missed_policy(session, uuid.uuid4(), once.id, "skip")
    after_downtime = datetime(2030, 1, 7, 11, 30, tzinfo=UTC)  # 09:00, 10:00, 11:00 missed
    result = await scheduler_pass(resources, after_downtime)
    assert result.locked
    assert len(await _runs(resources, skip_wf)) == 0
    [run] = await _runs(resources, once_wf)
    assert run.trigger_type == "schedule"
    assert run.trigger["scheduled_at"] == "2030-01-07T11:00:00+00:00"
    async with resources.sessions() as session:
        rows = (
            await session.execute(
                select(Schedule).where(Schedule.workflow_id.in_([skip_wf, once_wf]))
            )
        ).scalars()
        assert {r.next_fire_at for r in rows} == {datetime(2030, 1, 7, 12, 0, tzinfo=UTC)}


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


async def test_two_racing_schedulers_fire_each_tick_exactly_once(
    settings, resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    workflow_id = await _scheduled_workflow(resources, tenant, T0)
    other = await open_resources(
        settings.model_copy(update={"queue_name": resources.settings.queue_name})
    )
    clock, stop = _Clock(T0), asyncio.Event()
    loops = [
        asyncio.create_task(run_scheduler(r, stop, clock=clock, tick_seconds=0.01))
        for r in (resources, other)
    ]
    try:
        for n in range(1, 6):
            clock.now = T0 + timedelta(minutes=n, seconds=1)
            deadline = time.monotonic() + 20
            while len(await _runs(resources, workflow_id)) < n:
                assert time.monotonic() < deadline, f"tick {n} was never fired"
                await asyncio.sleep(0.02)
        # let both loops make more passes at the last instant: nothing more may fire
        for _ in range(20):
            await scheduler_pass(other, clock.now)
            await scheduler_pass(resources, clock.now)
    finally:
        stop.set()
        await asyncio.gather(*loops)
        await other.close()
    runs = await _runs(resources, workflow_id)
    ticks = sorted(r.trigger["scheduled_at"] for r in runs)
    assert ticks == [f"2030-01-07T09:0{m}:00+00:00" for m in range(5)]


async def test_schedules_api_lists_and_sets_the_missed_policy(
    settings, resources, tenant_factory
) -> None:
    editor = await tenant_factory(role="editor")
    workflow_id = await _scheduled_workflow(resources, editor, T0)
    async with AsyncTestClient(create_app(settings)) as client:
        listed = await client.get(
            "/schedules", params={"workflow_id": str(workflow_id)}, headers=editor.headers
        )
        [schedule] = listed.json()
        changed = await client.patch(
            f"/schedules/{schedule['id']}", json={"missed_policy": "run_once"},
            headers=editor.headers,
        )  # fmt: skip
        invalid = await client.patch(
            f"/schedules/{schedule['id']}", json={"missed_policy": "always"},
            headers=editor.headers,
        )  # fmt: skip
    assert schedule["cron"] == "* * * * *"
    assert schedule["missed_policy"] == "skip"
    assert schedule["enabled"] is True
    assert changed.json()["missed_policy"] == "run_once"
    assert invalid.status_code == 400


async def test_start_scheduler_runs_until_stopped(resources) -> None:
    handle = start_scheduler(resources)
    assert not handle.task.done()
    await handle.stop()
    assert handle.task.done()
    assert handle.task.exception() is None
