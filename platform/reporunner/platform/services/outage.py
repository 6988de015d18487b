"""A service the request needs is down: answer 503 with ``Retry-After``, never 500.

``SERVICE_DOWN`` lists the exceptions of a lost PostgreSQL or Redis (connection refused or
dropped, pool exhausted by the outage); the API maps them to :class:`ServiceUnavailable`.
Routes that wait for a run (``?wait=true``, a webhook answered by ``webhook.respond``) check
Redis with :func:`require_redis` before they create the execution, so a refused request has
created nothing and a client's retry cannot make a duplicate.
"""

from __future__ import annotations

import psycopg
import psycopg_pool
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from reporunner.nodes.errors import ReporunnerError

__all__ = [
    "REDIS_DOWN",
    "RETRY_AFTER_SECONDS",
    "SERVICE_DOWN",
    "ServiceUnavailable",
    "is_service_down",
    "require_redis",
]

RETRY_AFTER_SECONDS = 5

REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
SERVICE_DOWN: tuple[type[Exception], ...] = (
    *REDIS_DOWN,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    PoolTimeoutError,
    ConnectionError,
)


class ServiceUnavailable(ReporunnerError):
    """PostgreSQL or Redis cannot be reached; retry after ``Retry-After`` seconds."""

    code = "service_unavailable"
    status = 503


def is_service_down(exc: BaseException) -> bool:
    """True for the errors of an unreachable PostgreSQL or Redis (SQLAlchemy wraps psycopg's)."""
    if isinstance(exc, SERVICE_DOWN):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc.orig, psycopg.OperationalError)
    return False


async def require_redis(redis: Redis, what: str) -> None:
    """Raise :class:`ServiceUnavailable` unless Redis answers a PING."""
    try:
        await redis.ping()
    except REDIS_DOWN as err:
        raise ServiceUnavailable(
            f"the queue (Redis) is unreachable, so {what} cannot be run now; nothing was "
            f"started: retry after {RETRY_AFTER_SECONDS}s"
        ) from err
