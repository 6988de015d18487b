"""Execution throughput: runs/s through ``POST /workflows/{id}/executions`` with one worker.

The API (uvicorn on 127.0.0.1) and one arq worker run in this process on real PostgreSQL and
Redis. Every run writes its execution row, goes through the queue, is claimed, checkpointed,
records its node_runs rows and publishes its events. The baseline runs the same compiled
workflow directly with ``run_execution`` (same Postgres checkpointer, no rows, no queue, no
events) at the same concurrency as the worker, in the same process.

Usage::

    python bench/execution_throughput.py [--quick] [--runs N]

Services: ``DATABASE_URL`` / ``REDIS_URL``, else embedded servers in a temporary directory. The
last line printed is one JSON object; ``"ratio"`` is platform runs/s divided by direct runs/s
(1.0 would mean the queue and the bookkeeping cost nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

from reporunner.nodes.registry import default_registry
from reporunner.platform.api.app import create_app
from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.migrate import upgrade
from reporunner.platform.db.models.workflows import Execution
from reporunner.platform.engine import (
    NullHooks,
    compile_workflow,
    parse_definition,
    postgres_checkpointer,
    run_execution,
)
from reporunner.platform.engine.durability import langgraph_durability
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.services import embedded_services
from reporunner.platform.settings import Settings, load_settings
from reporunner.platform.worker import build_worker
from reporunner.platform.worker.app import libpq_dsn

NODES = 6


def definition() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "trigger.manual"}]
    for i in range(1, NODES):
        field = {"name": f"f{i}", "value": i, "type": "number"}
        nodes.append({"id": f"n{i}", "type": "data.set", "params": {"fields": [field]}})
    edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(NODES - 1)]
    return {"name": "throughput", "nodes": nodes, "edges": edges}


async def direct_rate(settings: Settings, runs: int) -> float:
    """Runs/s of run_execution alone, ``worker_concurrency`` at a time."""
    assert settings.database_url is not None
    compiled = compile_workflow(parse_definition(definition()), default_registry())
    limit = asyncio.Semaphore(settings.worker_concurrency)
    dsn = libpq_dsn(settings.database_url)
    async with postgres_checkpointer(dsn, max_size=settings.worker_concurrency + 2) as saver:

        async def one(i: int) -> None:
            async with limit:
                result = await run_execution(
                    compiled,
                    execution_id=f"bench-{uuid.uuid4()}",
                    workspace_id="bench",
                    trigger={"i": i},
                    checkpointer=saver,
                    hooks=NullHooks(),
                    # the durability the worker picks for this workflow (``auto`` -> ``fast``)
                    durability=langgraph_durability(compiled),
                    fresh=True,
                )
                assert result.status == "succeeded", result.error

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(runs)))
        return runs / (time.perf_counter() - started)


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


async def platform_rate(settings: Settings, resources: Resources, runs: int) -> float:
    """Runs/s from the first POST until the last run succeeded."""
    async with resources.sessions() as session, session.begin():
        workspace, _, key = await create_workspace_with_owner(
            session, slug=f"bench-{uuid.uuid4().hex[:8]}", email="bench@example.test"
        )
    headers = {"Authorization": f"Bearer {key.plaintext}"}
    worker = build_worker(resources, handle_signals=False)
    worker_task = asyncio.create_task(worker.main())
    try:
        async with api_server(settings) as base, httpx.AsyncClient(base_url=base) as http:
            created = await http.post(
                "/workflows", content=json.dumps(definition()), headers=headers
            )
            created.raise_for_status()
            wf_id = created.json()["workflow"]["id"]
            limit = asyncio.Semaphore(settings.worker_concurrency)

            async def post(i: int) -> None:
                async with limit:
                    response = await http.post(
                        f"/workflows/{wf_id}/executions", json={"input": {"i": i}}, headers=headers
                    )
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(post(i) for i in range(runs)))
            await _until_done(resources, workspace.id, runs)
            return runs / (time.perf_counter() - started)
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task


async def _until_done(resources: Resources, workspace_id: uuid.UUID, runs: int) -> None:
    deadline = time.monotonic() + 600
    query = select(func.count()).where(
        Execution.workspace_id == workspace_id, Execution.status == "succeeded"
    )
    while time.monotonic() < deadline:
        async with resources.sessions() as session:
            if await session.scalar(query) == runs:
                return
        await asyncio.sleep(0.02)
    raise TimeoutError("the runs did not finish within 10 minutes")


async def measure(settings: Settings, runs: int) -> dict[str, Any]:
    await direct_rate(settings, max(4, runs // 10))  # warm-up: imports, pools, caches
    direct = await direct_rate(settings, runs)
    resources = await open_resources(settings)
    try:
        platform = await platform_rate(settings, resources, runs)
    finally:
        await resources.close()
    return {
        "runs": runs,
        "nodes_per_run": NODES,
        "concurrency": settings.worker_concurrency,
        "direct_runs_per_s": round(direct, 2),
        "platform_runs_per_s": round(platform, 2),
        "ratio": round(platform / direct, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument("--runs", type=int, default=None, help="executions per measurement")
    args = parser.parse_args()
    runs = args.runs or (30 if args.quick else 200)
    data_dir = Path(tempfile.mkdtemp(prefix="rr-bench-"))
    data_dir.chmod(0o777)  # the embedded server may run as its own user
    settings = load_settings(
        data_dir=data_dir, queue_name=f"bench:{uuid.uuid4().hex}", log_level="WARNING"
    )
    with embedded_services(settings) as resolved:
        assert resolved.database_url is not None
        upgrade(resolved.database_url)
        result = asyncio.run(measure(resolved, runs))
    print(
        f"direct run_execution: {result['direct_runs_per_s']} runs/s; through the API, queue "
        f"and worker: {result['platform_runs_per_s']} runs/s"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
