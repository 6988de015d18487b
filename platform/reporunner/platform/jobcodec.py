"""JSON for arq jobs and results: nothing read from Redis is unpickled.

arq pickles job payloads and results by default, so anyone who can write to Redis (a
``redis.command`` credential pointed at it, a shared Redis) could make a worker run code by
overwriting a queued ``arq:job:<id>``. Every pool and worker is built with these instead; a job
that is not valid JSON fails to deserialise and is dropped, never executed. Results that are
not JSON (an exception) are stored as their text.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["ARQ_SERIALIZERS", "job_deserializer", "job_serializer"]


def _fallback(value: Any) -> str:
    return repr(value) if isinstance(value, BaseException) else str(value)


def job_serializer(payload: dict[str, Any]) -> bytes:
    """arq payload or result as JSON bytes (tuples become lists, others their text)."""
    return json.dumps(payload, default=_fallback, separators=(",", ":")).encode()


def job_deserializer(data: bytes) -> dict[str, Any]:
    """arq payload or result from JSON bytes.

    Raises:
        ValueError: not a JSON object (arq reports it as a deserialisation error).
    """
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("an arq job must be a JSON object")
    return value


ARQ_SERIALIZERS: dict[str, Any] = {
    "job_serializer": job_serializer,
    "job_deserializer": job_deserializer,
}
"""Keyword arguments for ``arq.create_pool`` and ``arq.worker.Worker``."""
