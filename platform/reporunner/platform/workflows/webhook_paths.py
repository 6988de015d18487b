"""One published workflow per webhook path and method: what publishing checks.

``POST /hooks/<workspace>/<path>`` finds its workflow in :mod:`reporunner.platform.webhooks.lookup`;
publishing (here, below the webhooks package) refuses a version whose ``trigger.webhook`` nodes
claim a path and method another published, unarchived workflow of the workspace listens on.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.builtin.trigger_webhook import WebhookParams
from reporunner.platform.db.models import Workflow, WorkflowVersion

__all__ = ["WEBHOOK_TYPE", "claimed_paths", "webhook_nodes"]

WEBHOOK_TYPE = "trigger.webhook"


def webhook_nodes(definition: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The ``trigger.webhook`` nodes of ``definition`` whose params name ``path``."""
    nodes = definition.get("nodes") or []
    return [
        n
        for n in nodes
        if isinstance(n, dict)
        and n.get("type") == WEBHOOK_TYPE
        and isinstance(n.get("params"), dict)
        and n["params"].get("path") == path
    ]


async def claimed_paths(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    definition: dict[str, Any],
) -> list[str]:
    """``METHOD /path`` of ``definition``'s webhook triggers that another published,
    unarchived workflow of the workspace already listens on (with that workflow's id)."""
    taken: list[str] = []
    for node in definition.get("nodes") or []:
        if not isinstance(node, dict) or node.get("type") != WEBHOOK_TYPE:
            continue
        try:
            params = WebhookParams.model_validate(node.get("params") or {})
        except ValidationError:
            continue  # validation reports it
        probe = {"nodes": [{"type": WEBHOOK_TYPE, "params": {"path": params.path}}]}
        rows = await session.execute(
            select(Workflow.id, WorkflowVersion.definition)
            .join(WorkflowVersion, WorkflowVersion.id == Workflow.published_version_id)
            .where(
                Workflow.workspace_id == workspace_id,
                Workflow.id != workflow_id,
                Workflow.archived_at.is_(None),
                WorkflowVersion.definition.contains(probe),
            )
        )
        for other_id, other in rows.all():
            for other_node in webhook_nodes(other, params.path):
                other_params = other_node.get("params") or {}
                if other_params.get("method", "POST") == params.method:
                    taken.append(f"{params.method} /{params.path} (workflow {other_id})")
    return taken
