"""Async engine and session factory (psycopg 3, pooled, pre-ping so a restarted Postgres heals)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = ["create_engine", "session_factory"]


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
