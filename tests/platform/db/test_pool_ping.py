"""Pooled connections are pinged only when they may be dead, and a dead one never reaches a
caller: the server ending a backend (as a restart does) is seen on the socket at once."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy import event, text

from reporunner.platform.db.session import create_engine
from reporunner.platform.engine.checkpoint import postgres_checkpointer
from reporunner.platform.pgping import PRE_PING_IDLE_SECONDS, needs_ping


def _terminate(admin_dsn: str, pid: int) -> None:
    """End one backend the way a shutting-down server does (it sends FATAL, then closes)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


async def test_needs_ping_sees_a_terminated_backend_without_a_round_trip(services) -> None:
    conn = await psycopg.AsyncConnection.connect(services.pg_dsn, autocommit=True)
    try:
        pid = conn.info.backend_pid
        await conn.execute("SELECT 1")
        assert not needs_ping(conn, time.monotonic())  # just used, nothing on the socket
        assert needs_ping(conn, None)  # unknown idle time: ping
        assert needs_ping(conn, time.monotonic() - PRE_PING_IDLE_SECONDS - 0.1)  # idled
        _terminate(services.admin_dsn, pid)
        assert needs_ping(conn, time.monotonic())  # the server's goodbye is on the socket
    finally:
        await conn.close()


async def test_engine_pings_only_a_connection_that_may_be_dead(services) -> None:
    engine = create_engine(services.database_url, pool_size=1)
    pings: list[str] = []
    real_ping = engine.sync_engine.dialect.do_ping

    def counted_ping(dbapi_connection):  # type: ignore[no-untyped-def]
        pings.append("ping")
        return real_ping(dbapi_connection)

    engine.sync_engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]
    backends: list[int] = []

    @event.listens_for(engine.sync_engine.pool, "connect")
    def _connected(dbapi_connection, record):  # type: ignore[no-untyped-def]
        backends.append(dbapi_connection.driver_connection.info.backend_pid)

    try:
        for _ in range(5):  # busy: the same connection again and again, never pinged
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        assert (pings, len(backends)) == ([], 1)
        _terminate(services.admin_dsn, backends[0])
        async with engine.connect() as conn:  # at once: no idle time would have caught it
            assert (await conn.execute(text("SELECT 2"))).scalar() == 2
        assert pings == ["ping"]
        assert len(backends) == 2
        assert backends[1] != backends[0]
    finally:
        await engine.dispose()


async def test_checkpointer_pool_replaces_a_terminated_connection(services) -> None:
    async with postgres_checkpointer(services.pg_dsn, min_size=2, max_size=2) as saver:
        pool = saver.conn
        async with pool.connection() as first, pool.connection() as second:
            pids = {first.info.backend_pid, second.info.backend_pid}
        for pid in pids:  # every pooled connection dies, as in a restart
            _terminate(services.admin_dsn, pid)
        for _ in range(2):
            async with pool.connection() as conn:
                assert conn.info.backend_pid not in pids
                assert (await (await conn.execute("SELECT 3 AS n")).fetchone())["n"] == 3
