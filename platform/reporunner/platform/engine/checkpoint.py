"""The durable checkpointer: LangGraph's ``AsyncPostgresSaver`` over a checked pool.

A pool (not one connection) so that a Postgres restart mid-run costs a reconnect instead of the
execution: ``check`` tests a connection that may be dead (``reporunner.platform.pgping``: its
socket has news, or it idled for a while) before handing it out and replaces a broken one; a
connection in use a moment ago is not tested (a busy worker would pay a round trip per
checkpoint write).
"""

from __future__ import annotations

import asyncio
import copy
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from reporunner.platform.pgping import needs_ping

__all__ = [
    "ensure_checkpoint_tables",
    "fresh_thread",
    "postgres_checkpointer",
    "setup_checkpoint_tables",
]

_setup_lock = asyncio.Lock()

_idle_since: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


async def _mark_idle(conn: AsyncConnection[Any]) -> None:
    """psycopg_pool's ``reset``: runs when a connection goes back to the pool."""
    _idle_since[conn] = time.monotonic()


async def _check_if_idle(conn: AsyncConnection[Any]) -> None:
    """psycopg_pool's ``check``: ping a connection that may be dead (``needs_ping``; one never
    used, opened with the pool, may have idled since); raising makes the pool replace it."""
    if needs_ping(conn, _idle_since.get(conn)):
        await AsyncConnectionPool.check_connection(conn)


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
        check=_check_if_idle,
        reset=_mark_idle,
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


async def ensure_checkpoint_tables(pg_dsn: str) -> None:
    """Create or migrate the checkpoint tables now (``migrate`` and ``serve`` do it before any
    worker starts, so workers find them current and take no lock)."""
    async with postgres_checkpointer(pg_dsn, max_size=2):
        pass


async def setup_checkpoint_tables(
    saver: AsyncPostgresSaver, pool: AsyncConnectionPool[AsyncConnection[Any]]
) -> None:
    """Create or migrate LangGraph's checkpoint tables, one caller at a time across processes.

    ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent twin, so callers starting
    together (``serve``'s worker processes) serialise on a Postgres advisory lock. A caller
    that finds the tables current takes no lock. The lock is *tried*, never waited for inside
    a statement: a backend blocked in ``pg_advisory_lock`` is an open transaction, and the
    ``CREATE INDEX CONCURRENTLY`` of the holder's migration waits for every open transaction
    to end, so a waiting twin and the holder would wait for each other for ever.
    """
    async with _setup_lock:
        if await _checkpoint_tables_current(saver, pool):
            return
        async with pool.connection() as conn:
            while not await _try_lock(conn):
                await asyncio.sleep(_LOCK_RETRY_SECONDS)
            try:
                await saver.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))


_LOCK_RETRY_SECONDS = 0.1


async def _try_lock(conn: AsyncConnection[Any]) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_SETUP_LOCK_KEY,))
    row = await cur.fetchone()
    return bool(row and row["got"])


async def _checkpoint_tables_current(
    saver: AsyncPostgresSaver, pool: AsyncConnectionPool[AsyncConnection[Any]]
) -> bool:
    """Whether LangGraph's newest checkpoint migration is applied (no lock, no DDL)."""
    newest = len(saver.MIGRATIONS) - 1
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT to_regclass('checkpoint_migrations') IS NOT NULL AS ok")
        row = await cur.fetchone()
        if not (row and row["ok"]):
            return False
        cur = await conn.execute("SELECT max(v) AS v FROM checkpoint_migrations")
        row = await cur.fetchone()
    return bool(row and row["v"] is not None and row["v"] >= newest)


def fresh_thread(saver: BaseCheckpointSaver[Any]) -> BaseCheckpointSaver[Any]:
    """``saver`` for one run of a thread that has no checkpoint yet (a first claim).

    LangGraph starts every run by looking up the thread's latest checkpoint: one query (and a
    pool check) that can only answer "none" here. The returned twin (same pool, same
    serializer) answers that first lookup itself; every later call goes to ``saver``.
    """
    twin = copy.copy(saver)
    looked = False

    async def aget_tuple(config: RunnableConfig) -> CheckpointTuple | None:
        nonlocal looked
        if not looked and not config.get("configurable", {}).get("checkpoint_id"):
            looked = True
            return None
        return await saver.aget_tuple(config)

    twin.aget_tuple = aget_tuple  # type: ignore[method-assign]
    return twin
