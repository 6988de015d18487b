"""Webhook test kit: publish workflows with a webhook trigger, sign requests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from reporunner.nodes.registry import default_registry
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.resources import open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow


def hook_workflow(
    path: str,
    *,
    credentials: dict[str, str] | None = None,
    respond: dict[str, Any] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """A workflow whose webhook trigger listens on ``path`` (then optionally responds)."""
    nodes: list[dict[str, Any]] = [
        {
            "id": "hook",
            "type": "trigger.webhook",
            "params": {"path": path, **params},
            "credentials": credentials or {},
        }
    ]
    edges: list[dict[str, Any]] = []
    if respond is not None:
        nodes.append({"id": "answer", "type": "webhook.respond", "params": respond})
        edges.append({"source": "hook", "target": "answer"})
    return {"name": f"hook {path}", "nodes": nodes, "edges": edges}


async def publish(database_url: str, workspace_id: uuid.UUID, definition: dict[str, Any]) -> str:
    """Create ``definition`` as a published workflow; returns its id."""
    engine = create_engine(database_url, pool_size=1)
    try:
        workflow, _ = await create_workflow(
            session_factory(engine), workspace_id, definition, default_registry(), publish=True
        )
    finally:
        await engine.dispose()
    return str(workflow.id)


@contextlib.contextmanager
def worker_thread(settings: Settings) -> Iterator[None]:
    """A worker on its own thread and event loop for the block.

    The Litestar test client blocks the test's event loop while a request runs, so a request
    that waits for a workflow needs the worker somewhere else.
    """
    holder: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        resources = await open_resources(settings)
        worker = build_worker(resources, handle_signals=False)
        holder["loop"] = asyncio.get_running_loop()
        holder["task"] = asyncio.create_task(worker.main())
        ready.set()
        try:
            await holder["task"]
        except asyncio.CancelledError:
            pass
        finally:
            await resources.close()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the worker thread did not start"
    try:
        yield
    finally:
        holder["loop"].call_soon_threadsafe(holder["task"].cancel)
        thread.join(30)
