"""Execution profile: round trips per webhook execution, counted (not timed).

The API (uvicorn) and ``--workers`` workers (each on connections of its own, as the worker
processes of ``serve``) run in this process on embedded PostgreSQL and Redis; the 5-node
workflow of ``bench/webhook_e2e.py`` (``respond_node`` answer) is delivered ``--runs`` times,
``--concurrency`` at a time, over HTTP. Every database statement and every Redis command this
process sends is counted at the client (psycopg's cursors, redis-py's command packer), so the
API, the workers and LangGraph's checkpointer are all in the figures:

* ``sql_statements``: statements sent (``executemany`` counts once), of which
  ``pre_pings`` are the pool's liveness checks (``SELECT 1``);
* ``commits``: explicit ``COMMIT`` s (each ends a transaction that also cost a ``BEGIN``);
  ``autocommit`` counts the statements that committed by themselves (autocommit connections,
  no ``BEGIN``/``COMMIT`` round trips);
* ``connects``: new PostgreSQL connections opened (a pool that closes and reopens
  connections under load pays a server process start for each);
* ``redis_commands``: commands sent, pipelines counted command by command (``MULTI`` and
  ``EXEC`` included);
* ``idle_per_second``: the same counts per second with nothing to do (heartbeats, reapers,
  polls), measured first, to tell per-execution costs from background ones.

Usage::

    python bench/execution_profile.py [--quick] [--runs N] [--concurrency C] [--workers W]

The last line printed is one JSON object; ``per_execution`` holds the counts divided by the
runs, ``sql_by_kind`` and ``redis_by_command`` their breakdown.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from psycopg import AsyncConnection, AsyncCursor
from psycopg.pq import TransactionStatus
from redis.asyncio.connection import AbstractConnection

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhook_e2e import BODY, EXPECTED, definition

from reporunner.platform.api.app import create_app
from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.migrate import upgrade
from reporunner.platform.engine.checkpoint import ensure_checkpoint_tables
from reporunner.platform.resources import open_resources
from reporunner.platform.services import embedded_services
from reporunner.platform.settings import Settings, load_settings
from reporunner.platform.worker import build_worker
from reporunner.platform.worker.app import libpq_dsn


class Counts:
    """Statements, commits and Redis commands, by kind."""

    def __init__(self) -> None:
        self.sql: collections.Counter[str] = collections.Counter()
        self.commits = 0
        self.autocommit = 0
        self.connects = 0
        self.redis: collections.Counter[str] = collections.Counter()

    def snapshot(self) -> dict[str, Any]:
        return {
            "sql_statements": sum(self.sql.values()),
            "pre_pings": self.sql[PRE_PING],
            "commits": self.commits,
            "autocommit": self.autocommit,
            "connects": self.connects,
            "redis_commands": sum(self.redis.values()),
            "sql": dict(self.sql),
            "redis": dict(self.redis),
        }


COUNTS = Counts()
PRE_PING = "pre-ping"
"""A pool's liveness check: SQLAlchemy's psycopg dialect sends ``;``, psycopg_pool's check
an empty query."""


def _kind(query: Any) -> str:
    """``SELECT 1``, or the statement's first word and the table it names first."""
    if isinstance(query, bytes):
        text = query.decode(errors="replace")
    elif isinstance(query, str):
        text = query
    else:  # psycopg's sql.Composed
        text = query.as_string(None)
    words = text.split()
    if not words or words == [";"]:
        return PRE_PING
    head = words[0].upper()
    if head == "SELECT" and len(words) > 1 and words[1] == "1":
        return PRE_PING
    upper = [w.upper() for w in words[:80]]
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in upper and upper.index(marker) + 1 < len(words):
            return f"{head} {words[upper.index(marker) + 1].split('(')[0]}"
    return head


def _implicit_commit(cursor: Any, kind: str) -> None:
    conn = cursor.connection
    if kind == PRE_PING:
        return
    if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        COUNTS.autocommit += 1


def _install_counters() -> None:
    execute, executemany = AsyncCursor.execute, AsyncCursor.executemany
    commit = AsyncConnection.commit
    pack_command = AbstractConnection.pack_command  # pipelines pack each command with it too

    async def counted_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        kind = _kind(query)
        COUNTS.sql[kind] += 1
        _implicit_commit(self, kind)
        return await execute(self, query, *args, **kwargs)

    async def counted_executemany(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        kind = _kind(query)
        COUNTS.sql[kind] += 1
        _implicit_commit(self, kind)
        return await executemany(self, query, *args, **kwargs)

    async def counted_commit(self: Any) -> None:
        if self.info.transaction_status != TransactionStatus.IDLE:
            COUNTS.commits += 1
        await commit(self)

    def counted_pack_command(self: Any, *args: Any) -> Any:
        COUNTS.redis[_redis_name(args)] += 1
        return pack_command(self, *args)

    connect = AsyncConnection.connect.__func__  # type: ignore[attr-defined]

    async def counted_connect(cls: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTS.connects += 1
        return await connect(cls, *args, **kwargs)

    AsyncConnection.connect = classmethod(counted_connect)  # type: ignore[assignment,method-assign]
    AsyncCursor.execute = counted_execute  # type: ignore[method-assign]
    AsyncCursor.executemany = counted_executemany  # type: ignore[method-assign]
    AsyncConnection.commit = counted_commit  # type: ignore[method-assign]
    AbstractConnection.pack_command = counted_pack_command  # type: ignore[method-assign]


def _redis_name(args: Any) -> str:
    name = args[0]
    name = name.decode() if isinstance(name, bytes) else str(name)
    return name.split()[0].upper()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def api_server(settings: Settings) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _diff(after: dict[str, Any], before: dict[str, Any], per: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in (
        "sql_statements",
        "pre_pings",
        "commits",
        "autocommit",
        "connects",
        "redis_commands",
    ):
        out[name] = round((after[name] - before[name]) / per, 2)
    return out


def _by_kind(after: dict[str, int], before: dict[str, int], per: float) -> dict[str, float]:
    rows = {k: (v - before.get(k, 0)) / per for k, v in after.items()}
    return {k: round(v, 2) for k, v in sorted(rows.items(), key=lambda kv: -kv[1]) if v > 0}


async def measure(
    settings: Settings, runs: int, concurrency: int, idle: float, workers: int = 1
) -> dict[str, Any]:
    resources = await open_resources(settings)
    async with resources.sessions() as session, session.begin():
        workspace, _, key = await create_workspace_with_owner(
            session, slug=f"bench-{uuid.uuid4().hex[:8]}", email="bench@example.test"
        )
    headers = {"Authorization": f"Bearer {key.plaintext}"}
    # each worker on resources of its own, as the processes of ``serve`` are
    own = [await open_resources(settings) for _ in range(workers - 1)]
    pool = [build_worker(r, handle_signals=False) for r in [resources, *own]]
    worker_tasks = [asyncio.create_task(worker.main()) for worker in pool]
    try:
        async with api_server(settings) as base, httpx.AsyncClient(base_url=base) as http:
            created = await http.post(
                "/workflows?publish=true", content=json.dumps(definition()), headers=headers
            )
            created.raise_for_status()
            url = f"/hooks/{workspace.slug}/bench"
            post_headers = {"Content-Type": "application/json"}

            async def deliver() -> None:
                response = await http.post(url, content=BODY, headers=post_headers, timeout=60)
                assert response.status_code == 200, response.text
                assert response.json() == EXPECTED, response.text

            for _ in range(5):  # warm-up: compiled-version cache, pools, first claims
                await deliver()
            before_idle = COUNTS.snapshot()
            await asyncio.sleep(idle)
            after_idle = COUNTS.snapshot()
            idle_counts = _diff(after_idle, before_idle, idle)
            idle_counts["redis"] = _by_kind(after_idle["redis"], before_idle["redis"], idle)
            limit = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with limit:
                    await deliver()

            before = COUNTS.snapshot()
            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(runs)))
            await asyncio.sleep(0.5)  # background batches (node runs, events) go out
            elapsed = time.perf_counter() - started
            after = COUNTS.snapshot()
    finally:
        for worker, worker_task in zip(pool, worker_tasks, strict=True):
            await worker.stop(5.0)
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
        for r in [resources, *own]:
            await r.close()
    return {
        "runs": runs,
        "concurrency": concurrency,
        "workers": workers,
        "seconds": round(elapsed, 2),
        "per_execution": _diff(after, before, runs),
        "idle_per_second": idle_counts,
        "sql_by_kind": _by_kind(after["sql"], before["sql"], runs),
        "redis_by_command": _by_kind(after["redis"], before["redis"], runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument("--runs", type=int, default=None, help="executions to count")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=1, help="workers (serve runs one per core: 2 here)"
    )
    args = parser.parse_args()
    runs = args.runs or (40 if args.quick else 200)
    data_dir = Path(tempfile.mkdtemp(prefix="rr-bench-"))
    data_dir.chmod(0o777)  # the embedded server may run as its own user
    settings = load_settings(
        data_dir=data_dir, queue_name=f"bench:{uuid.uuid4().hex}", log_level="WARNING"
    )
    with embedded_services(settings) as resolved:
        assert resolved.database_url is not None
        upgrade(resolved.database_url)
        asyncio.run(ensure_checkpoint_tables(libpq_dsn(resolved.database_url)))
        _install_counters()
        idle = 2.0 if args.quick else 5.0
        result = asyncio.run(measure(resolved, runs, args.concurrency, idle, args.workers))
    per = result["per_execution"]
    print(
        f"per execution: {per['sql_statements']} SQL statements ({per['pre_pings']} pre-pings), "
        f"{per['commits']} commits, {per['autocommit']} autocommit statements, "
        f"{per['connects']} new connections, "
        f"{per['redis_commands']} Redis commands"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
