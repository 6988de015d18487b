"""An in-process ``subworkflow`` service: runs a child workflow inside the parent's run.

It implements ``SubWorkflowRunner`` only (run and wait); starting a run without waiting needs
the queue, which the platform's execution service offers (``SubWorkflowStarter``).

The depth is carried by the service object itself: the child execution gets a service one level
deeper, and a run beyond ``max_depth`` fails with a clear error instead of recursing forever.
Child execution ids derive from the calling node call (execution, node, run, item index and the
n-th call within it; see :class:`~reporunner.platform.engine.context.NodeCallScope`), so when a
crashed parent is resumed, or a node is retried, the same child id continues from its own
checkpoint (or returns its result) instead of starting over. A new service object per call is
fine: nothing depends on the object's own state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from pydantic import BaseModel

from reporunner.nodes.base import Item
from reporunner.nodes.errors import NodeError
from reporunner.platform.engine.compile import CompiledWorkflow
from reporunner.platform.engine.context import current_call
from reporunner.platform.engine.durable_run import run_execution
from reporunner.platform.engine.errors import SubworkflowDepthExceeded
from reporunner.platform.engine.hooks import ExecutionHooks, NullHooks

__all__ = ["SUBWORKFLOW_SERVICE", "InProcessSubWorkflows"]

SUBWORKFLOW_SERVICE = "subworkflow"

WorkflowLoader = Callable[[str], Awaitable[CompiledWorkflow]]
"""``async (workflow_id) -> CompiledWorkflow`` of the version to run (the published one)."""


@dataclass
class InProcessSubWorkflows:
    """``SubWorkflowRunner`` that runs children with :func:`run_execution` in this process.

    Attributes:
        loader: Finds and compiles the workflow to run.
        parent_execution_id: Execution id of the workflow whose node calls this service.
        workspace_id: Workspace of the parent (children run in the same one).
        checkpointer: Checkpointer for the children (the parent's).
        max_depth: How many levels below the root may run (the root's
            ``settings.max_subworkflow_depth``).
        depth: Level of the children this service starts (1 for the root's children).
        hooks: Hooks for the children's node runs (none by default).
        services: Further services children get (this one is replaced by a deeper copy).
        credentials: Credentials by id available to children.
    """

    loader: WorkflowLoader
    parent_execution_id: str
    workspace_id: str
    checkpointer: BaseCheckpointSaver[Any] | None
    max_depth: int
    depth: int = 1
    hooks: ExecutionHooks = field(default_factory=NullHooks)
    services: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, BaseModel] = field(default_factory=dict)
    _started: int = field(default=0, init=False)

    async def run(self, workflow_id: str, items: list[Item]) -> list[Item]:
        """Run ``workflow_id`` with ``items`` and return its final items.

        Raises:
            SubworkflowDepthExceeded: nesting would go deeper than ``max_depth``.
            NodeError: the child did not succeed.
        """
        if self.depth > self.max_depth:
            raise SubworkflowDepthExceeded(
                f"sub-workflow '{workflow_id}' would run at depth {self.depth}, deeper than "
                f"settings.max_subworkflow_depth={self.max_depth}; check for a workflow that "
                "calls itself, or raise the limit"
            )
        compiled = await self.loader(workflow_id)
        scope = current_call()
        if scope is not None and scope.execution_id == self.parent_execution_id:
            child_id = scope.next_id("sub")
        else:  # called outside a node run (tests, scripts): number the calls of this object
            self._started += 1
            child_id = f"{self.parent_execution_id}.sub.{self._started}"
        child = replace(self, parent_execution_id=child_id, depth=self.depth + 1)
        result = await run_execution(
            compiled,
            execution_id=child_id,
            workspace_id=self.workspace_id,
            trigger=items[0] if items else {},
            trigger_items=items,
            checkpointer=self.checkpointer,
            hooks=self.hooks,
            services={**self.services, SUBWORKFLOW_SERVICE: child},
            credentials=self.credentials,
        )
        if result.status != "succeeded":
            error = result.error or {}
            raise NodeError(
                f"sub-workflow '{workflow_id}' ended {result.status}: "
                f"{error.get('message', 'no error message')}",
                sub_execution_id=child_id,
                error=error,
            )
        return result.final_items
