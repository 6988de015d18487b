"""``workflow.execute``: run another workflow of the workspace with this node's items."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.services import subworkflow_runner, subworkflow_starter

__all__ = ["WorkflowExecute", "WorkflowExecuteParams"]


class WorkflowExecuteParams(BaseModel):
    """Params of ``workflow.execute``."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: str = Field(min_length=1, description="Id of the workflow to run.")
    mode: Literal["wait", "fire_and_forget"] = Field(
        default="wait",
        description="'wait': run it and output the items its last node sent; "
        "'fire_and_forget': queue it and output {workflow_id, execution_id, items_sent}.",
    )


class WorkflowExecute(Node[WorkflowExecuteParams]):
    """Hands all input items to a sub-workflow (the engine supplies the runner)."""

    type = "workflow.execute"
    category = Category.ACTION
    display_name = "Execute workflow"
    description = (
        "Runs the published version of another workflow of this workspace with all input "
        "items as its trigger input. In 'wait' mode it outputs the items the sub-workflow's "
        "last node sent; in 'fire_and_forget' mode it outputs one item {workflow_id, "
        "execution_id, items_sent} and does not wait."
    )
    Params = WorkflowExecuteParams
    inputs = (Port("main", "Items passed to the sub-workflow."),)
    outputs = (Port("main", "The sub-workflow's output, or the queued execution's id."),)
    example: ClassVar[Mapping[str, Any]] = {"workflow_id": "wf_enrich_lead", "mode": "wait"}

    async def run(
        self, ctx: NodeContext, params: WorkflowExecuteParams, inputs: NodeInputs
    ) -> NodeOutput:
        items = list(inputs.get("main", []))
        if params.mode == "wait":
            runner = subworkflow_runner(ctx)
            return NodeOutput.main(await runner.run(params.workflow_id, items))
        execution_id = await subworkflow_starter(ctx).start(params.workflow_id, items)
        return NodeOutput.main(
            [
                {
                    "workflow_id": params.workflow_id,
                    "execution_id": execution_id,
                    "items_sent": len(items),
                }
            ]
        )
