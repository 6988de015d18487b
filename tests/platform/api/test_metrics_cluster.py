"""/metrics with several processes: the execution, node, token and cost figures come from
counters the database keeps (triggers in the writing transactions), so two API processes
report the same values after a worker ran executions, and no scrape scans ``executions`` or
``node_runs``."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from reporunner.nodes.registry import default_registry
from reporunner.platform.api.app import create_app
from reporunner.platform.api.metrics import active_query, counters_query
from reporunner.platform.db.models import NodeRun
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import start_execution
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow

TOKEN = "scrape-me"
GREET = {
    "name": "greet",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "set", "type": "data.set", "params": {"fields": [{"name": "hi", "value": "yes"}]}},
    ],
    "edges": [{"source": "start", "target": "set"}],
}


def _cluster_figures(text_body: str) -> dict[str, float]:
    """Every sample but this process's own request metrics and the queue's oldest age (a clock
    reading), by name and labels."""
    found = {}
    for line in text_body.splitlines():
        if line.startswith(("#", "reporunner_http_", "reporunner_queue_oldest_age")) or not line:
            continue
        name, value = line.rsplit(" ", 1)
        found[name] = float(value)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def scoped(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "queue_name": f"test:metrics-cluster:{uuid.uuid4().hex}",
            "metrics_token": SecretStr(TOKEN),
        }
    )


@pytest.fixture
async def resources(scoped: Settings) -> AsyncIterator[Resources]:
    opened = await open_resources(scoped)
    yield opened
    await opened.redis.delete(scoped.queue_name)
    await opened.close()


@pytest.fixture
async def other_api(services, scoped: Settings, tmp_path: Path) -> AsyncIterator[str]:
    """A second API process (``reporunner serve --no-worker``) on the same services."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_QUEUE_NAME": scoped.queue_name,
        "REPORUNNER_METRICS_TOKEN": TOKEN,
        "REPORUNNER_MIGRATE_ON_START": "false",
        "REPORUNNER_DATA_DIR": str(tmp_path / "data"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reporunner.platform.cli", "serve", "--no-worker",
        "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient() as client:
            while True:
                assert proc.returncode is None, "the second API exited"
                try:
                    if (await client.get(f"{url}/healthz", timeout=2)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the second API did not start"
                await asyncio.sleep(0.2)
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _scrape_both(client: AsyncTestClient, url: str) -> tuple[dict[str, float], ...]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    here = await client.get("/metrics", headers=auth)
    async with httpx.AsyncClient() as http:
        there = await http.get(f"{url}/metrics", headers=auth, timeout=30)
    assert (here.status_code, there.status_code) == (200, 200)
    return _cluster_figures(here.text), _cluster_figures(there.text)


@pytest.mark.timeout(300)  # a second API process starts, on a possibly loaded machine
async def test_two_api_processes_report_the_same_cluster_figures(
    resources: Resources, scoped: Settings, other_api: str, tenant_factory
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, default_registry())
    async with AsyncTestClient(create_app(scoped)) as client:
        before_here, before_there = await _scrape_both(client, other_api)
        ids = [
            (await start_execution(resources, tenant.workspace_id, wf.id, {"n": n})).id
            for n in range(3)
        ]
        queued_here, queued_there = await _scrape_both(client, other_api)
        await build_worker(resources, burst=True, handle_signals=False).main()
        after_here, after_there = await _scrape_both(client, other_api)
    async with transaction(resources.sessions) as db:
        runs = dict(
            (
                await db.execute(
                    select(NodeRun.node_type, func.count())
                    .where(NodeRun.execution_id.in_(ids), NodeRun.duration_ms.is_not(None))
                    .group_by(NodeRun.node_type)
                )
            ).all()
        )
    assert before_here == before_there
    assert queued_here == queued_there
    assert after_here == after_there
    assert queued_here["reporunner_queue_depth"] == 3
    assert queued_here['reporunner_executions{status="queued"}'] >= 3
    ended = 'reporunner_executions_ended_total{status="succeeded"}'
    assert after_here[ended] - before_here[ended] == 3
    assert runs == {"trigger.manual": 3, "data.set": 3}
    for node_type, count in runs.items():
        key = f'reporunner_node_run_duration_seconds_count{{node_type="{node_type}"}}'
        assert after_here[key] - before_here.get(key, 0) == count


async def _counters(resources: Resources) -> dict[tuple[str, str], Decimal]:
    async with transaction(resources.sessions) as db:
        rows = (await db.execute(counters_query())).all()
    return {(name, label): value for name, label, value in rows}


def _delta(
    after: dict[tuple[str, str], Decimal], before: dict[tuple[str, str], Decimal]
) -> dict[tuple[str, str], Decimal]:
    keys = set(after) | set(before)
    moved = {k: after.get(k, Decimal(0)) - before.get(k, Decimal(0)) for k in keys}
    return {k: v for k, v in moved.items() if v != 0}


async def test_counters_count_each_ending_once_and_tokens_by_their_growth(
    resources: Resources, tenant_factory
) -> None:
    """A run that waits (tokens so far) and then ends adds its final tokens once, its ending
    once; rewriting an ended row or a node run's duration adds nothing."""
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, default_registry())
    out = await start_execution(resources, tenant.workspace_id, wf.id, {})
    before = await _counters(resources)
    steps = [
        "UPDATE executions SET status = 'running' WHERE id = :id",
        "UPDATE executions SET status = 'waiting', tokens_in = 10, tokens_out = 5, "
        "cost_usd = 0.5 WHERE id = :id",
        "UPDATE executions SET status = 'running' WHERE id = :id",
        "UPDATE executions SET status = 'succeeded', tokens_in = 12, tokens_out = 6, "
        "cost_usd = 0.75 WHERE id = :id",
        "UPDATE executions SET status = 'succeeded', error = NULL WHERE id = :id",
        "INSERT INTO node_runs (workspace_id, execution_id, node_id, node_type, status, "
        "attempt, output_truncated, tokens_in, tokens_out, cost_usd) "
        "VALUES (:ws, :id, 'x', 'test.counted', 'running', 1, false, 0, 0, 0)",
        "UPDATE node_runs SET status = 'succeeded', duration_ms = 40 WHERE execution_id = :id",
        "UPDATE node_runs SET duration_ms = 50 WHERE execution_id = :id",
        "INSERT INTO node_runs (workspace_id, execution_id, node_id, node_type, status, "
        "attempt, output_truncated, tokens_in, tokens_out, cost_usd, duration_ms) "
        "VALUES (:ws, :id, 'y', 'test.counted', 'failed', 1, false, 0, 0, 0, 2.5)",
    ]
    for step in steps:  # each in its own transaction, as the workers write them
        async with transaction(resources.sessions) as db:
            await db.execute(text(step), {"id": out.id, "ws": tenant.workspace_id})
    moved = _delta(await _counters(resources), before)
    assert moved == {
        ("executions_ended", "succeeded"): 1,
        ("llm_tokens", "in"): 12,
        ("llm_tokens", "out"): 6,
        ("llm_cost_usd", ""): Decimal("0.75"),
        ("node_runs", "test.counted"): 2,
        ("node_run_ms", "test.counted"): Decimal("42.5"),
    }


def _sql(query: object) -> str:
    compiled = query.compile(  # type: ignore[attr-defined]
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


async def test_a_scrape_reads_no_whole_table(resources: Resources, tenant_factory) -> None:
    """With a realistic table (many ended executions, a few live ones, fresh statistics) the
    planner reads the live statuses from the status index and the counters from their own
    small table; the rows are rolled back afterwards."""
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, version = await create_workflow(db, tenant.workspace_id, GREET, default_registry())
    async with resources.sessions() as db, db.begin():
        await db.execute(
            text(
                "INSERT INTO executions (workspace_id, workflow_id, version_id, status, "
                "trigger_type, trigger, depth, attempts, cancel_requested, tokens_in, "
                "tokens_out, cost_usd) SELECT :ws, :wf, :v, CASE WHEN n % 1000 = 0 THEN "
                "'running' ELSE 'succeeded' END, 'manual', '{}', 0, 1, false, 0, 0, 0 "
                "FROM generate_series(1, 20000) AS n"
            ),
            {"ws": tenant.workspace_id, "wf": wf.id, "v": version.id},
        )
        await db.execute(text("ANALYZE executions"))
        plans = {}
        for name, query in (("active", active_query()), ("counters", counters_query())):
            rows = (await db.execute(text("EXPLAIN " + _sql(query)))).scalars().all()
            plans[name] = "\n".join(rows)
        await db.rollback()
    assert "ix_executions_status_heartbeat" in plans["active"], plans["active"]
    assert "Seq Scan on executions" not in plans["active"], plans["active"]
    assert "metric_counters" in plans["counters"]
    for table in ("executions", "node_runs"):
        assert table not in plans["counters"], plans["counters"]
