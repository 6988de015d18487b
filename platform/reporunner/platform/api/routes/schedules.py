"""``/schedules``: the cron triggers of published workflows: pause, resume, missed-tick policy."""

from __future__ import annotations

import uuid

from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform import schedules
from reporunner.platform.auth import Principal, requires
from reporunner.platform.schedules import ScheduleOut, ScheduleUpdate

__all__ = ["ScheduleController", "route_handlers"]


class ScheduleController(Controller):
    path = "/schedules"
    tags = ["schedules"]  # noqa: RUF012

    @get("/", summary="List schedules (they follow the published versions)")
    async def list_(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        workflow_id: FromQuery[uuid.UUID | None] = None,
    ) -> list[ScheduleOut]:
        return await schedules.list_schedules(transaction, principal, workflow_id)

    @patch(
        "/{schedule_id:uuid}",
        guards=[requires("editor")],
        summary="Pause or resume a schedule, or set its missed policy",
    )
    async def update(
        self,
        schedule_id: FromPath[uuid.UUID],
        data: JSONBody[ScheduleUpdate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> ScheduleOut:
        return await schedules.update_schedule(transaction, principal, schedule_id, data)


route_handlers = [ScheduleController]
