"""Webhook test kit: publish workflows with a webhook trigger, sign requests."""

from __future__ import annotations

import uuid
from typing import Any

from reporunner.nodes.registry import default_registry
from reporunner.platform.db.session import create_engine, session_factory, transaction
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
        async with transaction(session_factory(engine)) as db:
            workflow, _ = await create_workflow(
                db, workspace_id, definition, default_registry(), publish=True
            )
    finally:
        await engine.dispose()
    return str(workflow.id)
