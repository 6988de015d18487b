"""The engine services an execution offers its nodes (``ctx.service(name)``).

Each service comes from one provider function ``(resources, workspace_id, run) -> (name,
service)``; :data:`PROVIDERS` lists them. Offering another service (say ``"knowledge"``) means
writing one provider and adding it to the list; the runner calls every provider for every run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from reporunner.nodes.base import Item
from reporunner.nodes.errors import NotFoundError
from reporunner.nodes.registry import NodeRegistry
from reporunner.nodes.services import SUBWORKFLOW
from reporunner.platform.chats.providers import llm_provider, memory_provider, registry_provider
from reporunner.platform.engine import (
    CompiledWorkflow,
    InProcessSubWorkflows,
    SubworkflowDepthExceeded,
    compile_workflow,
    parse_definition,
)
from reporunner.platform.executions.service import start_execution
from reporunner.platform.knowledge.node_service import knowledge_provider
from reporunner.platform.mcp.node_service import mcp_provider
from reporunner.platform.network import host_guard_provider
from reporunner.platform.resources import Resources
from reporunner.platform.webhooks.responder import webhook_response_provider
from reporunner.platform.workflows.service import load_version

__all__ = [
    "PROVIDERS",
    "DatabaseSubWorkflows",
    "RunInfo",
    "ServiceProvider",
    "build_services",
    "subworkflow_provider",
]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What a provider may know about the execution it serves.

    Attributes:
        execution_id: The execution.
        workflow_id: Its workflow.
        depth: Its sub-workflow nesting level (0 for a top-level run).
        compiled: The compiled version it runs.
        checkpointer: The checkpointer it runs with.
        registry: Node types available to it.
    """

    execution_id: uuid.UUID
    workflow_id: uuid.UUID
    depth: int
    compiled: CompiledWorkflow
    checkpointer: BaseCheckpointSaver[Any] | None
    registry: NodeRegistry


ServiceProvider = Callable[[Resources, uuid.UUID, RunInfo], tuple[str, Any]]


def _workflow_uuid(workflow_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(workflow_id))
    except ValueError:
        raise NotFoundError(
            f"workflow '{workflow_id}' does not exist in this workspace (ids are UUIDs)"
        ) from None


@dataclass
class DatabaseSubWorkflows:
    """``SubWorkflowRunner``/``SubWorkflowStarter`` over the workflows of one workspace.

    ``run`` runs the child inside the parent's run (checkpointed under a derived thread id, so
    a resumed parent continues the child); ``start`` queues a separate execution with its own
    row. Both refuse workflows of other workspaces (not found) and nesting deeper than the root's
    ``settings.max_subworkflow_depth``.
    """

    resources: Resources
    workspace_id: uuid.UUID
    run_info: RunInfo

    def _max_depth(self) -> int:
        return self.run_info.compiled.definition.settings.max_subworkflow_depth

    async def _load(self, workflow_id: str) -> CompiledWorkflow:
        async with self.resources.sessions() as session:
            _, version = await load_version(session, self.workspace_id, _workflow_uuid(workflow_id))
            definition = version.definition
        return compile_workflow(parse_definition(definition), self.run_info.registry)

    def _inline(self) -> InProcessSubWorkflows:
        return InProcessSubWorkflows(
            loader=self._load,
            parent_execution_id=str(self.run_info.execution_id),
            workspace_id=str(self.workspace_id),
            checkpointer=self.run_info.checkpointer,
            max_depth=self._max_depth() - self.run_info.depth,
        )

    async def run(self, workflow_id: str, items: list[Item]) -> list[Item]:
        """Run the published (else latest) version of ``workflow_id`` and return its items."""
        return await self._inline().run(workflow_id, items)

    async def start(self, workflow_id: str, items: list[Item]) -> str:
        """Queue an execution of ``workflow_id``; its trigger is the first item (or ``{}``)."""
        depth = self.run_info.depth + 1
        if depth > self._max_depth():
            raise SubworkflowDepthExceeded(
                f"sub-workflow '{workflow_id}' would run at depth {depth}, deeper than "
                f"settings.max_subworkflow_depth={self._max_depth()}; check for a workflow "
                "that calls itself, or raise the limit"
            )
        out = await start_execution(
            self.resources,
            self.workspace_id,
            _workflow_uuid(workflow_id),
            items[0] if len(items) == 1 else {"items": items},
            trigger_type="subworkflow",
            parent_execution_id=self.run_info.execution_id,
            depth=depth,
        )
        return str(out.id)


def subworkflow_provider(
    resources: Resources, workspace_id: uuid.UUID, run: RunInfo
) -> tuple[str, Any]:
    """``"subworkflow"``: sub-workflows of the same workspace, bounded depth."""
    return SUBWORKFLOW, DatabaseSubWorkflows(resources, workspace_id, run)


PROVIDERS: list[ServiceProvider] = [
    subworkflow_provider,
    knowledge_provider,
    webhook_response_provider,
    memory_provider,
    llm_provider,
    registry_provider,
    mcp_provider,
    host_guard_provider,
]
"""Every service provider; add yours here."""


def build_services(resources: Resources, workspace_id: uuid.UUID, run: RunInfo) -> dict[str, Any]:
    """The services map handed to ``run_execution``."""
    return dict(provider(resources, workspace_id, run) for provider in PROVIDERS)
