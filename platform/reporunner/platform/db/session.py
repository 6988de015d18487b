"""Async engine and session factory (psycopg 3, pooled, pre-ping so a restarted Postgres heals).

Services take an ``AsyncSession`` as their first argument and never open one. Routes get theirs
from the API's ``transaction`` dependency; code outside a request (worker jobs, the scheduler,
reapers, the MCP server, the CLI) opens its unit of work with :func:`transaction`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = ["autocommit_factory", "create_engine", "session_factory", "transaction"]


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Engine for ``database_url`` (``postgresql+psycopg://``).

    ``pool_pre_ping`` checks each pooled connection before use, so a Postgres restart costs one
    failed ping per stale connection instead of an error in the middle of an execution.
    """
    return create_async_engine(
        database_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


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
