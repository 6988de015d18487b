"""Rate limits on Redis: fixed one-minute windows shared by every API process.

A window counter per bucket (``INCR`` + ``EXPIRE`` in one transaction) is enough here: it bounds
each API key and each webhook path to ``limit`` requests per window across all processes, and
``Retry-After`` tells the caller when the window turns. Redis being down never blocks requests
(the limit fails open and logs), because the limiter protects the service, it is not auth.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from reporunner.nodes.errors import ReporunnerError

__all__ = [
    "RateDecision",
    "RateLimited",
    "api_key_bucket",
    "hit",
    "peek",
    "webhook_bucket",
]

log = logging.getLogger("reporunner.api.limits")


class RateLimited(ReporunnerError):
    """Too many requests in the current window; retry after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Outcome of one request against a bucket."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int


def api_key_bucket(token: str) -> str:
    """Bucket of an API key (hashed: the key itself never goes to Redis)."""
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def webhook_bucket(workspace_slug: str, path: str) -> str:
    """Bucket of one webhook path of one workspace."""
    return "hook:" + hashlib.sha256(f"{workspace_slug}/{path.strip('/')}".encode()).hexdigest()[:32]


async def hit(
    redis: Redis, bucket: str, limit: int, *, window: int = 60, now: float | None = None
) -> RateDecision:
    """Count one request in ``bucket``; ``allowed`` is False past ``limit`` per ``window``.

    A ``limit`` of 0 disables the limit.
    """
    if limit <= 0:
        return RateDecision(True, 0, 0, 0)
    current = time.time() if now is None else now
    slot = int(current // window)
    retry_after = max(1, int(window - (current % window) + 0.999))
    key = f"reporunner:rate:{bucket}:{slot}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count, _ = await pipe.execute()
    except RedisError:
        log.warning("rate limiter unavailable (Redis error); letting the request through")
        return RateDecision(True, limit, limit, 0)
    count = int(count)
    return RateDecision(count <= limit, limit, max(0, limit - count), retry_after)


async def peek(
    redis: Redis, bucket: str, limit: int, *, window: int = 60, now: float | None = None
) -> RateDecision:
    """Whether ``bucket`` is already past ``limit`` in this window (counts nothing)."""
    if limit <= 0:
        return RateDecision(True, 0, 0, 0)
    current = time.time() if now is None else now
    slot = int(current // window)
    retry_after = max(1, int(window - (current % window) + 0.999))
    try:
        raw = await redis.get(f"reporunner:rate:{bucket}:{slot}")
    except RedisError:
        log.warning("rate limiter unavailable (Redis error); letting the request through")
        return RateDecision(True, limit, limit, 0)
    count = int(raw or 0)
    return RateDecision(count < limit, limit, max(0, limit - count), retry_after)
