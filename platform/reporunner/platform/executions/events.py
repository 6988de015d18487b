"""Execution events in Redis: a pub/sub channel per execution plus a stream kept for replay.

Live listeners may ``SUBSCRIBE`` to :func:`channel`; the Server-Sent Events endpoint reads the
stream instead (``XRANGE`` to replay, then ``XREAD BLOCK`` to follow), which has no gap between
"what already happened" and "what happens next" — a subscriber that replays from a list and then
subscribes would miss the events published in between.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

__all__ = [
    "CANCEL_CHANNEL",
    "STREAM_MAXLEN",
    "STREAM_TTL_SECONDS",
    "Event",
    "append_event",
    "channel",
    "follow",
    "follow_stream",
    "publish_event",
    "publish_events",
    "read_events",
    "read_stream",
    "stream_key",
    "wake_webhook_waiters",
    "webhook_wake_key",
]

CANCEL_CHANNEL = "reporunner:executions:cancel"
"""Workers listen here for the ids of executions to cancel."""
STREAM_MAXLEN = 10_000
"""Events kept per execution (older ones are trimmed; the node_runs rows keep the record)."""
STREAM_TTL_SECONDS = 7 * 24 * 3600
"""Default replay window of an execution's events after its last event (workers use
``REPORUNNER_EVENT_RETENTION_SECONDS``)."""


def channel(execution_id: str) -> str:
    """Pub/sub channel of one execution's events."""
    return f"reporunner:execution:{execution_id}:events"


def stream_key(execution_id: str) -> str:
    """Redis stream that keeps one execution's events for replay."""
    return f"reporunner:execution:{execution_id}:stream"


WEBHOOK_WAKE_TTL_SECONDS = 3600


def webhook_wake_key(execution_id: str) -> str:
    """List a webhook request waiting for its execution's answer blocks on (``BLPOP``): pushed
    when a ``webhook.respond`` node answers and when the execution ends or parks."""
    return f"reporunner:webhook:wake:{execution_id}"


async def wake_webhook_waiters(redis: Redis, execution_id: str) -> None:
    """Wake the requests waiting for a webhook execution that ended (or parked) without
    needing them to poll its row; best effort (they also look every few seconds)."""
    key = webhook_wake_key(execution_id)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, "end")
            pipe.expire(key, WEBHOOK_WAKE_TTL_SECONDS)
            await pipe.execute()
    except Exception:
        pass  # the waiters' own look at the row finds the end a little later


@dataclass(frozen=True, slots=True)
class Event:
    """One event of an execution.

    Attributes:
        id: Stream entry id (``<ms>-<seq>``), usable as the SSE ``id`` and ``Last-Event-ID``.
        event: Event name, e.g. ``node.finished``.
        data: JSON payload.
    """

    id: str
    event: str
    data: dict[str, Any]


def _encode(event: str, data: Mapping[str, Any]) -> str:
    return json.dumps({"event": event, "data": dict(data)}, default=str, separators=(",", ":"))


def _decode(entry_id: bytes | str, fields: Mapping[Any, Any]) -> Event:
    raw = fields.get(b"e", fields.get("e", b"{}"))
    body = json.loads(raw)
    ident = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return Event(ident, str(body.get("event", "")), dict(body.get("data") or {}))


async def publish_event(
    redis: Redis,
    execution_id: str,
    event: str,
    data: Mapping[str, Any],
    *,
    ttl: int = STREAM_TTL_SECONDS,
) -> str:
    """Append ``event`` to the execution's stream and publish it on its channel.

    Returns:
        The stream entry id.
    """
    payload = _encode(event, data)
    key = stream_key(execution_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(key, {"e": payload}, maxlen=STREAM_MAXLEN, approximate=True)
        pipe.expire(key, ttl)
        pipe.publish(channel(execution_id), payload)
        entry_id, *_ = await pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def publish_events(
    redis: Redis,
    execution_id: str,
    events: list[tuple[str, Mapping[str, Any]]],
    *,
    ttl: int = STREAM_TTL_SECONDS,
) -> None:
    """:func:`publish_event` for several events in order, in one round trip (a pipeline: the
    order holds without ``MULTI``/``EXEC``)."""
    key = stream_key(execution_id)
    async with redis.pipeline(transaction=False) as pipe:
        for event, data in events:
            payload = _encode(event, data)
            pipe.xadd(key, {"e": payload}, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.publish(channel(execution_id), payload)
        pipe.expire(key, ttl)
        await pipe.execute()


async def read_events(redis: Redis, execution_id: str, after: str = "0") -> list[Event]:
    """Every event kept for the execution after stream id ``after`` (``"0"``: from the start)."""
    return await read_stream(redis, stream_key(execution_id), after)


async def read_stream(redis: Redis, key: str, after: str = "0") -> list[Event]:
    """Every event kept in the stream ``key`` after stream id ``after``."""
    start = "(" + after if after not in ("0", "0-0", "") else "-"
    entries = await redis.xrange(key, min=start, max="+")
    return [_decode(entry_id, fields) for entry_id, fields in entries]


async def append_event(
    redis: Redis, key: str, event: str, data: Mapping[str, Any], *, ttl: int = STREAM_TTL_SECONDS
) -> str:
    """Append ``event`` to the stream ``key`` (no pub/sub channel: readers follow the stream,
    see :func:`follow_stream`); chat turns keep their events this way.

    Returns:
        The stream entry id.
    """
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(key, {"e": _encode(event, data)}, maxlen=STREAM_MAXLEN, approximate=True)
        pipe.expire(key, ttl)
        entry_id, *_ = await pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def follow(
    redis: Redis, execution_id: str, after: str = "0", *, block_ms: int = 3_000
) -> AsyncGenerator[Event | None, None]:
    """Replay the kept events, then wait for new ones; yields None after each idle wait.

    The caller decides when to stop (e.g. at ``execution.finished``); the None values let it
    send keep-alives and check whether the client is still there. ``block_ms`` stays below
    the Redis client's socket timeout (5 s in :mod:`reporunner.platform.resources`).
    """
    async for event in follow_stream(redis, stream_key(execution_id), after, block_ms=block_ms):
        yield event


async def follow_stream(
    redis: Redis, key: str, after: str = "0", *, block_ms: int = 3_000
) -> AsyncGenerator[Event | None, None]:
    """:func:`follow` for any events stream ``key`` (chat turns use it too)."""
    last = after or "0"
    for event in await read_stream(redis, key, last):
        last = event.id
        yield event
    while True:
        answer = await redis.xread({key: last}, block=block_ms, count=100)
        if not answer:
            yield None
            continue
        for _key, entries in answer:
            for entry_id, fields in entries:
                event = _decode(entry_id, fields)
                last = event.id
                yield event
