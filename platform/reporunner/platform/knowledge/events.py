"""Ingestion progress as events on Redis: one channel per knowledge base.

Events are JSON objects ``{"type": "document.progress", "knowledge_base_id", "document_id",
"status", "chunks_done", "chunks_total", "error"}`` published on ``reporunner:kb:<kb_id>``.
They are a live view only: the document row is the source of truth, so a lost event (Redis
down) is logged and never fails an ingestion.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from reporunner.knowledge import DocumentRecord, IngestProgress

__all__ = [
    "SETTLED",
    "document_event",
    "follow_base",
    "kb_channel",
    "progress_event",
    "publish_event",
]

SETTLED = frozenset({"ready", "failed"})
"""Document statuses after which nothing happens until the next upload."""

log = logging.getLogger(__name__)


def kb_channel(knowledge_base_id: uuid.UUID | str) -> str:
    """The Redis channel a knowledge base's events are published on."""
    return f"reporunner:kb:{knowledge_base_id}"


def progress_event(knowledge_base_id: uuid.UUID, progress: IngestProgress) -> dict[str, Any]:
    """The event for one progress report of the pipeline."""
    return {
        "type": "document.progress",
        "knowledge_base_id": str(knowledge_base_id),
        "document_id": str(progress.document_id),
        "status": progress.status,
        "chunks_done": progress.chunks_done,
        "chunks_total": progress.chunks_total,
        "error": progress.error,
    }


async def publish_event(
    redis: Redis, knowledge_base_id: uuid.UUID | str, event: dict[str, Any]
) -> None:
    """Publish ``event`` on the base's channel; a Redis failure is logged, not raised."""
    try:
        await redis.publish(kb_channel(knowledge_base_id), json.dumps(event))
    except (RedisError, OSError) as err:
        log.warning("could not publish knowledge event for %s: %s", knowledge_base_id, err)


def document_event(document: DocumentRecord) -> dict[str, Any]:
    """A document's current state, as the first events of a follower."""
    return {
        "type": "document.state",
        "knowledge_base_id": str(document.knowledge_base_id),
        "document_id": str(document.id),
        "name": document.name,
        "status": document.status,
        "chunks_done": document.chunks_done,
        "chunks_total": document.chunks_total,
        "error": document.error,
    }


async def follow_base(
    redis: Redis,
    knowledge_base_id: uuid.UUID,
    snapshot: Callable[[], Awaitable[list[DocumentRecord]]],
    *,
    until_settled: bool = False,
    idle_seconds: float = 10.0,
) -> AsyncGenerator[dict[str, Any] | None, None]:
    """The state of every document of a base, then each event as it is published.

    The channel is subscribed *before* the snapshot is read, so no event falls between the two.
    ``None`` is yielded after ``idle_seconds`` without an event (send a keep-alive). With
    ``until_settled`` the stream ends once no document is queued, parsing or embedding.
    """
    pubsub = redis.pubsub()
    try:  # subscribing takes a connection: a cancel during it must still give it back
        await pubsub.subscribe(kb_channel(knowledge_base_id))
        pending: set[str] = set()
        for document in await snapshot():
            yield document_event(document)
            if document.status not in SETTLED:
                pending.add(str(document.id))
        while pending or not until_settled:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=idle_seconds)
            if message is None:
                yield None
                continue
            event: dict[str, Any] = json.loads(message["data"])
            yield event
            document_id, status = event.get("document_id"), event.get("status")
            if isinstance(document_id, str) and isinstance(status, str):
                if status in SETTLED:
                    pending.discard(document_id)
                else:
                    pending.add(document_id)
    finally:  # shielded: a client that hung up cancels us, and the connection must go back
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await pubsub.aclose()  # type: ignore[no-untyped-call]
