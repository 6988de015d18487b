"""Ingestion progress as events on Redis: one channel per knowledge base.

Events are JSON objects ``{"type": "document.progress", "knowledge_base_id", "document_id",
"status", "chunks_done", "chunks_total", "error"}`` published on ``reporunner:kb:<kb_id>``.
They are a live view only: the document row is the source of truth, so a lost event (Redis
down) is logged and never fails an ingestion.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from reporunner.knowledge import IngestProgress

__all__ = ["kb_channel", "progress_event", "publish_event"]

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
