"""logic.wait: duration / until, the cap, and cancellation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.logic_wait import Wait, WaitCancelled
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import NodeTestContext, run_node

ITEMS = [{"id": 1}, {"id": 2}]


async def test_short_duration_passes_items_through() -> None:
    out = await run_node(Wait, {"amount": 0.01}, {"main": ITEMS})
    assert out.ports == {"main": ITEMS}


async def test_until_in_the_past_does_not_wait() -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    out = await run_node(Wait, {"mode": "until", "until": past}, {"main": ITEMS})
    assert out.ports == {"main": ITEMS}


async def test_until_beyond_the_cap_is_refused() -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    with pytest.raises(NodeError, match="use a schedule trigger"):
        await run_node(Wait, {"mode": "until", "until": later}, {"main": ITEMS})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"amount": 2, "unit": "hours"}, "capped at 3600 seconds"),
        ({"mode": "until"}, "needs 'until'"),
        ({"mode": "until", "until": "2030-01-01T09:00:00"}, "timezone"),
        ({"amount": -1}, "greater than or equal"),
    ],
)
def test_invalid_params(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Wait.Params.model_validate(params)


async def test_cancelled_before_the_wait() -> None:
    ctx = NodeTestContext(cancelled=True)
    with pytest.raises(WaitCancelled, match="cancelled"):
        await run_node(Wait, {"amount": 10, "unit": "minutes"}, {"main": ITEMS}, ctx)


async def test_cancellation_during_the_wait_stops_it() -> None:
    ctx = NodeTestContext()

    def cancel() -> None:
        ctx.cancelled = True

    asyncio.get_running_loop().call_soon(cancel)
    with pytest.raises(WaitCancelled):
        await run_node(Wait, {"amount": 10, "unit": "minutes"}, {"main": ITEMS}, ctx)
