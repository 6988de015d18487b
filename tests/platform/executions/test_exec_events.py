"""The event sink: queued events wait for company (a ``fast`` run's delay) and go out in order,
with ``execution.finished`` in the same pipeline; ``drain`` sends them at once."""

from __future__ import annotations

import uuid

from reporunner.platform.executions import EventSink
from reporunner.platform.executions.events import read_events
from reporunner.platform.resources import Resources

FOREVER = 3600.0
"""A delay no test outlives: what goes out, goes out because it was told to."""


async def test_queued_events_go_out_with_the_finished_event_in_order(
    resources: Resources,
) -> None:
    execution_id = str(uuid.uuid4())
    heard: list[str] = []
    sink = EventSink(resources.redis, execution_id, [lambda e, _d: heard.append(e)], delay=FOREVER)
    for n in range(3):
        sink.publish_soon("node.started", {"n": n})
    assert await read_events(resources.redis, execution_id) == []  # still waiting for company
    await sink.publish("execution.finished", {"status": "succeeded"})
    events = await read_events(resources.redis, execution_id)
    assert [(e.event, e.data) for e in events] == [
        ("node.started", {"n": 0}),
        ("node.started", {"n": 1}),
        ("node.started", {"n": 2}),
        ("execution.finished", {"status": "succeeded"}),
    ]
    assert heard == ["node.started"] * 3 + ["execution.finished"]  # listeners at once


async def test_drain_sends_what_waits_now(resources: Resources) -> None:
    execution_id = str(uuid.uuid4())
    sink = EventSink(resources.redis, execution_id, delay=FOREVER)
    sink.publish_soon("node.started", {"n": 0})
    sink.publish_soon("node.finished", {"n": 0})
    await sink.drain()
    events = await read_events(resources.redis, execution_id)
    assert [e.event for e in events] == ["node.started", "node.finished"]
    sink.publish_soon("node.started", {"n": 1})  # a new batch after a drain waits again
    await sink.drain()
    assert len(await read_events(resources.redis, execution_id)) == 3


async def test_without_a_delay_events_go_out_without_a_finish(resources: Resources) -> None:
    execution_id = str(uuid.uuid4())
    sink = EventSink(resources.redis, execution_id)
    sink.publish_soon("node.started", {"n": 0})
    assert sink._sender is not None
    await sink._sender  # the background sender alone sends it (nothing drains)
    assert [e.event for e in await read_events(resources.redis, execution_id)] == ["node.started"]
