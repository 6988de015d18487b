"""Ids a definition refers to (credentials, knowledge bases, sub-workflows) must belong to the
workspace saving it.

The same ids are checked again at run time (the vault, the knowledge service and the
sub-workflow service all scope by workspace); refusing them at save time tells the author at
once, with the JSON pointer of the field, instead of at the first run. Only id-shaped values are
checked: names (``knowledge_base: "handbook"``), expressions and the copilot's ``<to supply>``
placeholders are resolved, inside the workspace, when the node runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import Problem, ValidationFailed
from reporunner.platform.db.models import Credential, KnowledgeBase, Workflow
from reporunner.platform.engine import WorkflowDefinition

__all__ = ["check_references"]

_KINDS = {"credential": Credential, "knowledge base": KnowledgeBase, "workflow": Workflow}


def _as_id(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str) or "{{" in value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _references(defn: WorkflowDefinition) -> Iterator[tuple[str, str, Any]]:
    """``(kind, JSON pointer, value)`` of every id-bearing field."""
    for i, node in enumerate(defn.nodes):
        for cred_type, value in node.credentials.items():
            yield "credential", f"/nodes/{i}/credentials/{cred_type}", value
        params = node.params
        if node.type in ("knowledge.search", "knowledge.ingest"):
            yield (
                "knowledge base",
                f"/nodes/{i}/params/knowledge_base",
                params.get("knowledge_base"),
            )
        if node.type == "workflow.execute":
            yield "workflow", f"/nodes/{i}/params/workflow_id", params.get("workflow_id")
        if node.type == "ai.agent":
            for t, tool in enumerate(params.get("tools") or []):
                if not isinstance(tool, dict):
                    continue
                for k, kb in enumerate(tool.get("knowledge_bases") or []):
                    yield "knowledge base", f"/nodes/{i}/params/tools/{t}/knowledge_bases/{k}", kb
                if "workflow_id" in tool:
                    yield (
                        "workflow",
                        f"/nodes/{i}/params/tools/{t}/workflow_id",
                        tool["workflow_id"],
                    )


async def check_references(
    session: AsyncSession, workspace_id: uuid.UUID, defn: WorkflowDefinition
) -> None:
    """Raise ``ValidationFailed`` (422) listing every id that is not in ``workspace_id``."""
    wanted: dict[str, list[tuple[str, uuid.UUID]]] = {}
    for kind, pointer, value in _references(defn):
        ref = _as_id(value)
        if ref is not None:
            wanted.setdefault(kind, []).append((pointer, ref))
    problems = []
    for kind, refs in wanted.items():
        model: Any = _KINDS[kind]
        ids = {ref for _, ref in refs}
        found = set(
            (
                await session.execute(
                    select(model.id).where(model.id.in_(ids), model.workspace_id == workspace_id)
                )
            ).scalars()
        )
        for pointer, ref in refs:
            if ref not in found:
                problems.append(
                    Problem(
                        pointer,
                        "unknown_reference",
                        f"{kind} {ref} does not exist in this workspace; pick one "
                        "of this workspace's (or create it first)",
                    )
                )
    if problems:
        detail = "; ".join(f"{p.pointer}: {p.message}" for p in problems)
        raise ValidationFailed(f"the definition refers to unknown ids: {detail}", problems)
