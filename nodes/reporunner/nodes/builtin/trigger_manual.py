"""``trigger.manual``: starts a workflow by hand (the Run button or ``POST /executions``)."""

from __future__ import annotations

from reporunner.nodes.base import (
    Category,
    Node,
    NodeContext,
    NodeInputs,
    NodeOutput,
    NoParams,
    Port,
)

__all__ = ["ManualTrigger"]


class ManualTrigger(Node[NoParams]):
    """Entry point of workflows started on demand; emits the item given when starting."""

    type = "trigger.manual"
    category = Category.TRIGGER
    display_name = "Manual trigger"
    description = (
        "Starts the workflow when a user clicks Run or an API client calls POST /executions. "
        "Outputs one item on 'main': the JSON object given as the run's input ({} when none); "
        "when it is called as a sub-workflow with several items, it outputs those items."
    )
    inputs = ()
    outputs = (Port("main", "The trigger item (the run's input object)."),)

    async def run(self, ctx: NodeContext, params: NoParams, inputs: NodeInputs) -> NodeOutput:
        given = [dict(item) for items in inputs.values() for item in items]
        return NodeOutput.main(given or [dict(ctx.trigger)])
