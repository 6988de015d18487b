"""Real ``reporunner worker`` processes for fault tests (SIGTERM, SIGINT, SIGKILL).

The worker gets the test nodes (``exec_testnodes``) through an entry point, the test's own
queue and services, and the worktree's code (``PYTHONPATH`` is inherited).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from reporunner.platform.db.models.workflows import Execution, NodeRun
from reporunner.platform.resources import Resources

HERE = Path(__file__).parent


def plugin_path(tmp_path: Path) -> str:
    """A dist-info that declares the test nodes as a ``reporunner.nodes`` entry point."""
    dist = tmp_path / "plugins" / "rr_test_nodes-0.1.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rr-test-nodes\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[reporunner.nodes]\ntest_nodes = exec_testnodes\n")
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join([str(tmp_path / "plugins"), str(HERE), *inherited])


async def spawn_worker(
    resources: Resources, services: Any, tmp_path: Path, *, stderr: Any = None, **extra: str
) -> asyncio.subprocess.Process:
    """``reporunner worker`` on the test's queue; ``extra`` adds environment variables,
    ``stderr`` (an open file) receives its log (default: discarded)."""
    settings = resources.settings
    env = {
        **os.environ,
        "PYTHONPATH": plugin_path(tmp_path),
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_QUEUE_NAME": settings.queue_name,
        "REPORUNNER_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
        "REPORUNNER_REAP_AFTER_SECONDS": str(settings.reap_after_seconds),
        "REPORUNNER_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reporunner.platform.cli",
        "worker",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr if stderr is not None else asyncio.subprocess.DEVNULL,
    )


async def until(check: Any, limit: float = 90.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def exits_within(proc: asyncio.subprocess.Process, seconds: float) -> int:
    """The process's exit code; fails (and kills it) if it is still there after ``seconds``."""
    try:
        return await asyncio.wait_for(proc.wait(), seconds)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"the worker did not exit within {seconds}s") from None


def counting(durability: str = "auto") -> dict[str, Any]:
    """start → a → b → block (hangs on its first call until released) → c, each counting."""
    param = {"redis_url": "{{ trigger.redis_url }}"}
    nodes = [
        {"id": "start", "type": "trigger.manual"},
        {"id": "a", "type": "test.count", "params": param},
        {"id": "b", "type": "test.count", "params": param},
        {"id": "block", "type": "test.block_once", "params": param},
        {"id": "c", "type": "test.count", "params": param},
    ]
    ids = [n["id"] for n in nodes]
    edges = [{"source": s, "target": t} for s, t in itertools.pairwise(ids)]
    return {
        "name": "counting",
        "nodes": nodes,
        "edges": edges,
        "settings": {"durability": durability},
    }


async def row(resources: Resources, ex_id: uuid.UUID) -> Execution:
    async with resources.sessions() as session:
        found = await session.get(Execution, ex_id, populate_existing=True)
        assert found is not None
        return found


async def node_runs(resources: Resources, ex_id: uuid.UUID) -> list[tuple[str, str]]:
    from sqlalchemy import select

    async with resources.sessions() as session:
        rows = await session.execute(
            select(NodeRun.node_id, NodeRun.status)
            .where(NodeRun.execution_id == ex_id)
            .order_by(NodeRun.started_at)
        )
    return [(r[0], r[1]) for r in rows.all()]
