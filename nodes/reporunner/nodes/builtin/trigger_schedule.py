"""``trigger.schedule``: starts a workflow on a cron schedule in an IANA time zone.

The platform's scheduler calls :func:`next_fire_times` to decide when to enqueue the next run;
it is pure (no clock of its own) so it is tested with fixed instants. Cron fields are read in
the schedule's time zone, so ``0 9 * * 1-5`` means 09:00 local time on weekdays all year round,
across daylight-saving changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port

__all__ = ["ScheduleParams", "ScheduleTrigger", "next_fire_times"]

_ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
MAX_FIRE_TIMES = 1000


class ScheduleParams(BaseModel):
    """Params of ``trigger.schedule``."""

    model_config = ConfigDict(extra="forbid")

    cron: str = Field(
        description="Standard 5-field cron expression 'minute hour day-of-month month "
        "day-of-week' (e.g. '0 9 * * 1-5' = 09:00 on weekdays, '*/15 * * * *' = every 15 "
        "minutes) or an alias: @hourly, @daily, @weekly, @monthly, @yearly."
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone the cron fields are read in, e.g. 'Europe/Berlin'.",
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        expr = " ".join(value.split())
        if expr in _ALIASES:
            return expr
        if len(expr.split(" ")) != 5 or not croniter.is_valid(expr):
            raise ValueError(
                f"'{value}' is not a 5-field cron expression (minute hour day month weekday), "
                "e.g. '0 9 * * 1-5'"
            )
        return expr

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone '{value}'; use an IANA name such as 'Europe/Berlin' or 'UTC'"
            ) from None
        return value


def next_fire_times(params: ScheduleParams, after: datetime, n: int = 1) -> list[datetime]:
    """The next ``n`` fire times strictly after ``after``, in the schedule's time zone.

    Args:
        params: Validated schedule params.
        after: Start instant; a naive datetime is taken as UTC.
        n: How many times to return (1..1000).

    Returns:
        Time-zone-aware datetimes in ``params.timezone``, ascending.
    """
    if not 1 <= n <= MAX_FIRE_TIMES:
        raise ValueError(f"n must be between 1 and {MAX_FIRE_TIMES}, got {n}")
    zone = ZoneInfo(params.timezone)
    start = (after if after.tzinfo else after.replace(tzinfo=UTC)).astimezone(zone)
    iterator = croniter(params.cron, start)
    return [iterator.get_next(datetime).astimezone(zone) for _ in range(n)]


class ScheduleTrigger(Node[ScheduleParams]):
    """Entry point of workflows run on a schedule."""

    type = "trigger.schedule"
    category = Category.TRIGGER
    display_name = "Schedule"
    description = (
        "Starts the workflow at the times given by a 5-field cron expression read in an IANA "
        "time zone (e.g. '0 9 * * 1-5' in 'Europe/Berlin' = 09:00 Berlin time on weekdays). "
        "Outputs one item on 'main': {scheduled_at, fired_at, timezone} (ISO 8601 times)."
    )
    Params = ScheduleParams
    inputs = ()
    outputs = (Port("main", "The tick: {scheduled_at, fired_at, timezone}."),)
    example: ClassVar[dict[str, Any]] = {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}

    async def run(self, ctx: NodeContext, params: ScheduleParams, inputs: NodeInputs) -> NodeOutput:
        if ctx.trigger:
            return NodeOutput.main([dict(ctx.trigger)])
        now = datetime.now(ZoneInfo(params.timezone)).isoformat()
        return NodeOutput.main(
            [{"scheduled_at": now, "fired_at": now, "timezone": params.timezone}]
        )
