"""Async engine and session factory (psycopg 3, pooled, pinged when a connection may be dead so
a restarted Postgres heals).

Services take an ``AsyncSession`` as their first argument and never open one. Routes get theirs
from the API's ``transaction`` dependency; code outside a request (worker jobs, the scheduler,
reapers, the MCP server, the CLI) opens its unit of work with :func:`transaction`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from reporunner.platform.pgping import needs_ping

__all__ = [
    "autocommit_factory",
    "create_engine",
    "session_factory",
    "transaction",
]

_IDLE_SINCE = "reporunner_idle_since"


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Engine for ``database_url`` (``postgresql+psycopg://``).

    A pooled connection that may be dead (``reporunner.platform.pgping``: its socket has
    news, or it idled for a while) is pinged before use, so a Postgres restart costs one failed
    ping (and a fresh pool) instead of an error in the middle of an execution; a busy process
    does not pay a ping per checkout (SQLAlchemy's ``pool_pre_ping`` did: ~5 round trips per
    webhook execution). The pool hands out the most recently used connection first
    (``pool_use_lifo``): it is the one least likely to need a ping.
    """
    engine = create_async_engine(
        database_url, pool_size=pool_size, max_overflow=pool_size, pool_use_lifo=True
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    dialect: Dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if _IDLE_SINCE not in record.info:  # a new connection, never handed out before
            return
        if not needs_ping(dbapi_connection.driver_connection, record.info[_IDLE_SINCE]):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as err:
            # as SQLAlchemy's own pre-ping: a dead connection means the server went away,
            # so every connection older than now is replaced (the pool retries the checkout)
            raise exc.InvalidatePoolError() from err


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def autocommit_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose every statement commits by itself (``AUTOCOMMIT``, same pool).

    For a unit of work that is one statement (an ``INSERT ... RETURNING``, a conditional
    ``UPDATE``): it costs one round trip instead of three (``BEGIN``, the statement,
    ``COMMIT``). Never for two statements that must commit together.
    """
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session inside ``session.begin()``: committed when the block ends, rolled back when it
    raises (the exception propagates)."""
    async with sessions() as session, session.begin():
        yield session
