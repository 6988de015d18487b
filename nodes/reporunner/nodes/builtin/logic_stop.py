"""``logic.stop``: ends the execution with an error message of the author's choosing."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.errors import NodeError

__all__ = ["Stop", "StopParams", "WorkflowStopped"]


class WorkflowStopped(NodeError):
    """Raised on purpose by a Stop node; ``detail`` is the author's rendered message."""

    code = "workflow_stopped"
    status = 422


class StopParams(BaseModel):
    """Params of ``logic.stop``."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        min_length=1,
        max_length=2000,
        description="Error message, e.g. 'Order {{ item.id }} has no customer' (rendered "
        "against the first item).",
    )
    error_code: str | None = Field(
        default=None,
        max_length=100,
        description="Optional machine-readable code stored with the error, e.g. 'no_customer'.",
    )


class Stop(Node[StopParams]):
    """Fails the execution when reached (typically on one branch of an If)."""

    type = "logic.stop"
    category = Category.LOGIC
    display_name = "Stop and error"
    description = (
        "Stops the execution with an error carrying 'message' (and optional 'error_code') as "
        "soon as it runs (when any item reaches it); it has no outputs. Put it on an "
        "If/Switch branch to fail a run on invalid data."
    )
    Params = StopParams
    inputs = (Port("main", "Any item arriving here stops the execution."),)
    outputs = ()
    example: ClassVar[dict[str, Any]] = {
        "message": "Order {{ item.id }} has no customer email",
        "error_code": "missing_email",
    }

    async def run(self, ctx: NodeContext, params: StopParams, inputs: NodeInputs) -> NodeOutput:
        raise WorkflowStopped(params.message, error_code=params.error_code)
