"""Checkpoint table set-up by several processes at once (``serve``'s worker processes)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection

from reporunner.platform.engine.checkpoint import _SETUP_LOCK_KEY, ensure_checkpoint_tables

NEWEST = len(AsyncPostgresSaver.MIGRATIONS) - 1


async def _waiting_for_the_lock(admin: AsyncConnection[Any]) -> None:
    """Until another backend has asked for the set-up lock (waiting in it or trying it)."""
    while True:
        cur = await admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND query LIKE %s AND query NOT LIKE %s",
            ("%advisory_lock%", "%pg_stat_activity%"),
        )
        row = await cur.fetchone()
        if row and row[0]:
            return
        await asyncio.sleep(0.05)


async def test_a_setup_waiting_for_the_lock_does_not_block_the_holders_index_build(
    fresh_database: Any,
) -> None:
    # the holder: another process that has the lock and runs LangGraph's migrations, whose
    # CREATE INDEX CONCURRENTLY waits for every open transaction; a twin blocked inside
    # pg_advisory_lock is one, and the two waited for each other for ever (seen with
    # `serve --workers 2` on a fresh database: every run stayed queued)
    dsn = fresh_database.pg_dsn
    async with (
        await AsyncConnection.connect(dsn, autocommit=True) as holder,
        await AsyncConnection.connect(dsn, autocommit=True) as builder,
    ):
        await holder.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
        twin = asyncio.create_task(ensure_checkpoint_tables(dsn))
        await _waiting_for_the_lock(holder)
        await builder.execute("CREATE TABLE probe (x int)")
        # a hang guard, not a timing: with the twin blocked in a statement this never ends
        await builder.execute("SET lock_timeout = '60s'")
        await builder.execute("CREATE INDEX CONCURRENTLY probe_x ON probe (x)")
        assert not twin.done()  # still waiting its turn, without holding a transaction open
        await holder.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
        await asyncio.wait_for(twin, 60)
        cur = await builder.execute("SELECT max(v) FROM checkpoint_migrations")
        row = await cur.fetchone()
    assert row == (NEWEST,)


async def test_concurrent_setups_on_a_fresh_database_all_finish(fresh_database: Any) -> None:
    dsn = fresh_database.pg_dsn
    script = (
        "import asyncio, sys\n"
        "from reporunner.platform.engine.checkpoint import ensure_checkpoint_tables\n"
        "asyncio.run(ensure_checkpoint_tables(sys.argv[1]))\n"
    )
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, dsn) for _ in range(4)
    ]
    codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), 120)
    assert codes == [0, 0, 0, 0]
    async with await AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT count(*), count(DISTINCT v) FROM checkpoint_migrations")
        row = await cur.fetchone()
    assert row == (NEWEST + 1, NEWEST + 1)
