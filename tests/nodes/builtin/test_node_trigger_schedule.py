"""trigger.schedule: cron + IANA zone validation, next_fire_times, node output."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.trigger_schedule import (
    ScheduleParams,
    ScheduleTrigger,
    next_fire_times,
)
from reporunner.nodes.testing import NodeTestContext, run_node


def test_weekday_mornings_in_a_zone() -> None:
    params = ScheduleParams(cron="0 9 * * 1-5", timezone="America/New_York")
    # Friday 2025-01-03 15:00 UTC = 10:00 New York: next is Monday 09:00 local = 14:00 UTC.
    times = next_fire_times(params, datetime(2025, 1, 3, 15, 0, tzinfo=UTC), 2)
    assert [t.isoformat() for t in times] == [
        "2025-01-06T09:00:00-05:00",
        "2025-01-07T09:00:00-05:00",
    ]
    assert times[0].astimezone(UTC).hour == 14


def test_local_time_is_kept_across_daylight_saving() -> None:
    params = ScheduleParams(cron="0 9 * * *", timezone="Europe/Berlin")
    times = next_fire_times(params, datetime(2025, 3, 29, 6, 0, tzinfo=UTC), 2)
    assert [t.hour for t in times] == [9, 9]
    assert [t.utcoffset().total_seconds() / 3600 for t in times] == [1.0, 2.0]  # type: ignore[union-attr]


def test_naive_after_is_utc_and_times_are_strictly_after() -> None:
    params = ScheduleParams(cron="*/15 * * * *")
    times = next_fire_times(params, datetime(2025, 1, 1, 10, 15), 3)
    assert [t.strftime("%H:%M") for t in times] == ["10:30", "10:45", "11:00"]
    assert times[0].tzinfo == ZoneInfo("UTC")


def test_aliases_and_whitespace() -> None:
    assert ScheduleParams(cron="@daily").cron == "@daily"
    assert ScheduleParams(cron=" 0  9 * *  * ").cron == "0 9 * * *"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cron": "every day"}, "not a 5-field cron"),
        ({"cron": "* * * * * *"}, "not a 5-field cron"),
        ({"cron": "61 * * * *"}, "not a 5-field cron"),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"cron": "0 9 * * *", "timezone": "../../etc/passwd"}, "unknown time zone"),
    ],
)
def test_invalid_params(params: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScheduleParams.model_validate(params)


def test_n_is_bounded() -> None:
    with pytest.raises(ValueError, match="between 1 and 1000"):
        next_fire_times(ScheduleParams(cron="@hourly"), datetime.now(UTC), 0)


async def test_node_outputs_the_tick() -> None:
    tick = {"scheduled_at": "2025-01-06T09:00:00-05:00", "fired_at": "2025-01-06T09:00:01-05:00"}
    out = await run_node(
        ScheduleTrigger, ScheduleTrigger.example, {}, NodeTestContext(trigger=tick)
    )
    assert out.ports == {"main": [tick]}
    out = await run_node(ScheduleTrigger, ScheduleTrigger.example, {})
    (item,) = out.ports["main"]
    assert item["timezone"] == "Europe/Berlin"
    assert datetime.fromisoformat(item["scheduled_at"]).tzinfo is not None
