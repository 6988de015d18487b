"""The durable checkpointer: LangGraph's ``AsyncPostgresSaver`` over a checked pool.

A pool (not one connection) so that a Postgres restart mid-run costs a reconnect instead of the
execution: ``check`` tests each connection before handing it out and replaces broken ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

__all__ = ["postgres_checkpointer", "setup_checkpoint_tables"]

_setup_lock = asyncio.Lock()
_SETUP_LOCK_KEY = 0x7265706F72756E  # "reporun": the advisory lock of checkpoint table setup


@asynccontextmanager
async def postgres_checkpointer(
    pg_dsn: str, *, min_size: int = 1, max_size: int = 10, setup: bool = True
) -> AsyncIterator[AsyncPostgresSaver]:
    """Open an ``AsyncPostgresSaver`` on a pool of ``pg_dsn`` (a libpq conninfo/URI).

    Args:
        pg_dsn: Database to keep checkpoints in (``postgresql://...``, not a SQLAlchemy URL).
        min_size: Connections kept open.
        max_size: Upper bound of connections.
        setup: Create or migrate LangGraph's checkpoint tables first (idempotent).
    """
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        pg_dsn,
        min_size=min_size,
        max_size=max(max_size, 2),  # setup holds one connection while the saver uses another
        kwargs=kwargs,
        check=AsyncConnectionPool.check_connection,
        open=False,
    )
    await pool.open(wait=True)
    try:
        saver = AsyncPostgresSaver(pool)
        if setup:
            await setup_checkpoint_tables(saver, pool)
        yield saver
    finally:
        await pool.close()


async def setup_checkpoint_tables(
    saver: AsyncPostgresSaver, pool: AsyncConnectionPool[AsyncConnection[Any]]
) -> None:
    """Create LangGraph's checkpoint tables, one caller at a time across processes.

    ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent twin, so workers starting
    together serialise on a Postgres advisory lock.
    """
    async with _setup_lock, pool.connection() as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
        try:
            await saver.setup()
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
