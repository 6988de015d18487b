"""The scheduler loop: with N workers running it, each due tick fires exactly once.

Two guards make "exactly once" hold: a Redis lock lets one loop at a time do a pass (the others
skip that tick), and every fire starts its execution with the idempotency key
``schedule:<schedule id>:<tick time>``, so even a pass that outlives its lock, or a crash between
starting a run and moving ``next_fire_at`` on, cannot start a tick twice.

Missed ticks: a tick is "on time" while it is at most ``grace`` old. After downtime, a schedule
with policy ``skip`` drops the missed ticks and waits for the next one; ``run_once`` fires once
(for the latest missed tick) and then goes on normally.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from redis.exceptions import LockError, RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from reporunner.nodes.builtin.trigger_schedule import ScheduleParams, next_fire_times
from reporunner.nodes.errors import ReporunnerError
from reporunner.platform.db.models import Schedule
from reporunner.platform.db.session import transaction
from reporunner.platform.executions.service import start_execution
from reporunner.platform.resources import Resources
from reporunner.platform.services.outage import is_service_down
from reporunner.platform.workflows.schedule_sync import reconcile_schedules

__all__ = [
    "LOCK_NAME",
    "PassResult",
    "SchedulerHandle",
    "due_ticks",
    "run_scheduler",
    "scheduler_pass",
    "start_scheduler",
]

LOCK_NAME = "reporunner:scheduler:lock"
GRACE = timedelta(seconds=60)
MAX_CATCH_UP = 1000
RECONCILE_EVERY = 30

log = logging.getLogger("reporunner.scheduler")
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one scheduler pass did."""

    locked: bool
    fired: int
    skipped: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


def due_ticks(
    params: ScheduleParams, next_fire_at: datetime, now: datetime, policy: str
) -> tuple[list[datetime], datetime]:
    """Which ticks to fire now, and the next fire time after ``now``.

    Args:
        params: The schedule's cron and time zone.
        next_fire_at: The first tick not yet handled.
        now: Current time.
        policy: ``skip`` or ``run_once`` (what to do with ticks missed during downtime).
    """
    ticks = [next_fire_at]
    while len(ticks) < MAX_CATCH_UP:
        following = next_fire_times(params, ticks[-1])[0].astimezone(UTC)
        if following > now:
            break
        ticks.append(following)
    upcoming = next_fire_times(params, max(now, ticks[-1]))[0].astimezone(UTC)
    on_time = [t for t in ticks if now - t <= GRACE]
    missed = [t for t in ticks if now - t > GRACE]
    fire = on_time[-1:] if on_time else []
    if missed and not fire and policy == "run_once":
        fire = missed[-1:]
    return fire, upcoming


async def _fire(resources: Resources, row: Schedule, tick: datetime, now: datetime) -> bool:
    zone_tick = tick.astimezone(ZoneInfo(row.timezone))
    item = {
        "scheduled_at": zone_tick.isoformat(),
        "fired_at": now.astimezone(zone_tick.tzinfo).isoformat(),
        "timezone": row.timezone,
    }
    try:
        await start_execution(
            resources, row.workspace_id, row.workflow_id, item,
            trigger_type="schedule", idempotency_key=f"schedule:{row.id}:{tick.isoformat()}",
        )  # fmt: skip
    except ReporunnerError as err:
        log.warning("schedule %s of workflow %s not started: %s", row.id, row.workflow_id, err)
        return False
    return True


async def scheduler_pass(
    resources: Resources, now: datetime | None = None, *, reconcile: bool = False
) -> PassResult:
    """Fire every due schedule once, if this process gets the scheduler lock.

    Args:
        resources: Shared database, Redis and queue.
        now: Current time (default: the real clock).
        reconcile: First re-sync every schedule with the published versions.
    """
    now = now or _utc_now()
    lock = resources.redis.lock(LOCK_NAME, timeout=60, blocking=False)
    if not await lock.acquire():
        return PassResult(locked=False, fired=0, skipped=0)
    fired = skipped = 0
    try:
        if reconcile:
            async with transaction(resources.sessions) as session:
                await reconcile_schedules(session, now=now)
        async with transaction(resources.sessions) as session:
            rows = (
                await session.execute(
                    select(Schedule)
                    .where(
                        Schedule.enabled.is_(True),
                        Schedule.paused.is_(False),
                        Schedule.next_fire_at <= now,
                    )
                    .order_by(Schedule.next_fire_at)
                    .limit(500)
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
            for row in rows:
                assert row.next_fire_at is not None
                params = ScheduleParams(cron=row.cron, timezone=row.timezone)
                fire, upcoming = due_ticks(params, row.next_fire_at, now, row.missed_policy)
                for tick in fire:
                    if await _fire(resources, row, tick, now):
                        row.last_fired_at = tick
                        fired += 1
                skipped += 0 if fire else 1
                row.next_fire_at = upcoming
    finally:
        try:
            await lock.release()
        except LockError:
            log.warning("the scheduler lock expired during a pass; the idempotency keys held")
    return PassResult(locked=True, fired=fired, skipped=skipped)


async def run_scheduler(
    resources: Resources,
    stop_event: asyncio.Event,
    *,
    clock: Clock = _utc_now,
    tick_seconds: float | None = None,
) -> None:
    """Run scheduler passes until ``stop_event`` is set (a worker's background task).

    Args:
        resources: Shared database, Redis and queue.
        stop_event: Set it to stop the loop after the current pass.
        clock: Current time (tests pass a controllable clock).
        tick_seconds: Pause between passes (default ``settings.scheduler_tick_seconds``).
    """
    pause = tick_seconds or resources.settings.scheduler_tick_seconds
    passes = 0
    failing = False
    while not stop_event.is_set():
        try:
            await scheduler_pass(resources, clock(), reconcile=passes % RECONCILE_EVERY == 0)
        except (RedisError, SQLAlchemyError, OSError) as err:
            if not failing:  # one line per outage, not a traceback per tick
                down = is_service_down(err)
                log.warning(
                    "scheduler pass failed (%s); retrying every tick", err, exc_info=not down
                )
            failing = True
        else:
            if failing:
                log.info("scheduler works again")
            failing = False
        passes += 1
        try:
            await asyncio.wait_for(stop_event.wait(), timeout=pause)
        except TimeoutError:
            continue


@dataclass
class SchedulerHandle:
    """A scheduler loop running as a background task (see :func:`start_scheduler`)."""

    task: asyncio.Task[None]
    stop_event: asyncio.Event

    async def stop(self) -> None:
        """Ask the loop to stop and wait for its current pass to end."""
        self.stop_event.set()
        await self.task


def start_scheduler(resources: Resources) -> SchedulerHandle:
    """Start :func:`run_scheduler` as a task of the running loop (call from a worker's
    ``on_startup``; ``await handle.stop()`` in ``on_shutdown``)."""
    stop_event = asyncio.Event()
    task = asyncio.create_task(run_scheduler(resources, stop_event), name="reporunner-scheduler")
    return SchedulerHandle(task, stop_event)
