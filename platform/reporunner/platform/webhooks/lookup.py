"""Find the published workflow whose ``trigger.webhook`` node owns a path and method.

Only published versions of unarchived workflows listen. The search runs in SQL with a JSONB
containment test on the published definitions of the workspace, so it does not load every
workflow of the workspace for each delivery.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.builtin.trigger_webhook import WebhookParams
from reporunner.nodes.errors import ConfigurationError, ConflictError, NotFoundError
from reporunner.platform.db.models import Workflow, WorkflowVersion, Workspace
from reporunner.platform.workflows.webhook_paths import WEBHOOK_TYPE, webhook_nodes

__all__ = ["WEBHOOK_TYPE", "WebhookTarget", "find_target"]

log = logging.getLogger("reporunner.webhooks")


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """The trigger node a delivery goes to.

    Attributes:
        workspace_id: Owner of the workflow.
        workflow_id: The workflow to run.
        version_number: Its published version (the run is pinned to it).
        version_id: That version's id.
        definition: That version's definition (the run starts from it without reading it
            again).
        node_id: Id of the ``trigger.webhook`` node.
        params: The node's validated params.
        credentials: The node's credential bindings (type name -> credential id).
    """

    workspace_id: uuid.UUID
    workflow_id: uuid.UUID
    version_number: int
    version_id: uuid.UUID
    definition: dict[str, Any]
    node_id: str
    params: WebhookParams
    credentials: dict[str, str]


async def find_target(
    session: AsyncSession, workspace_slug: str, path: str, method: str
) -> WebhookTarget:
    """The webhook trigger listening on ``method`` ``/hooks/<workspace_slug>/<path>``.

    Raises:
        NotFoundError: no such workspace, or no published workflow listens there (the same
            answer for both, so that callers cannot probe which workspaces exist).
        ConflictError: two published workflows claim the same path and method.
        ConfigurationError: the trigger's params are invalid.
    """
    path = path.strip("/")
    not_found = NotFoundError(
        f"no published workflow listens on {method} /hooks/{workspace_slug}/{path}; publish a "
        "workflow whose webhook trigger has this path and method"
    )
    probe = {"nodes": [{"type": WEBHOOK_TYPE, "params": {"path": path}}]}
    rows = await session.execute(  # one round trip: workspace, workflows and versions joined
        select(
            Workspace.id,
            Workflow.id,
            WorkflowVersion.number,
            WorkflowVersion.id,
            WorkflowVersion.definition,
        )
        .join(Workflow, Workflow.workspace_id == Workspace.id)
        .join(WorkflowVersion, WorkflowVersion.id == Workflow.published_version_id)
        .where(
            Workspace.slug == workspace_slug,
            WorkflowVersion.workspace_id == Workspace.id,
            Workflow.archived_at.is_(None),
            WorkflowVersion.definition.contains(probe),
        )
    )
    found: list[WebhookTarget] = []
    for workspace_id, workflow_id, number, version_id, definition in rows.all():
        for node in webhook_nodes(definition, path):
            try:
                params = WebhookParams.model_validate(node["params"])
            except ValidationError as err:
                raise ConfigurationError(
                    f"workflow {workflow_id} node '{node.get('id')}': invalid webhook params: "
                    f"{err.errors()[0]['msg']}"
                ) from None
            if params.method != method:
                continue
            found.append(
                WebhookTarget(
                    workspace_id=workspace_id,
                    workflow_id=workflow_id,
                    version_number=number,
                    version_id=version_id,
                    definition=definition,
                    node_id=str(node.get("id")),
                    params=params,
                    credentials=dict(node.get("credentials") or {}),
                )
            )
    if not found:
        raise not_found
    if len(found) > 1:  # publishing refuses this now; older data may still hold it
        ids = ", ".join(sorted(str(t.workflow_id) for t in found))
        log.warning("workflows %s all listen on %s %s/%s", ids, method, workspace_slug, path)
        raise ConflictError(  # the caller is anonymous: no workflow ids
            f"several published workflows listen on {method} /hooks/{workspace_slug}/{path}; "
            "the workspace must give each webhook trigger its own path"
        )
    return found[0]
