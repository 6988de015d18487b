"""``ping``: a round trip that proves a worker is consuming the queue."""

from __future__ import annotations

from typing import Any


async def ping(ctx: dict[str, Any], value: str = "pong") -> dict[str, str]:
    """Return ``value`` and the id of the worker that ran the job."""
    return {"value": value, "worker_id": str(ctx["worker_id"])}


JOBS = [ping]
