"""``logic.noop``: passes items through unchanged."""

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

__all__ = ["NoOp"]


class NoOp(Node[NoParams]):
    """Sends its input items out unchanged.

    Useful as a named join point in a graph, or as a placeholder while a workflow is drafted.
    """

    type = "logic.noop"
    category = Category.LOGIC
    display_name = "No operation"
    description = (
        "Does nothing: every item received on 'main' is sent out of 'main' unchanged. Use it "
        "as a placeholder or as a named point to connect several branches to."
    )
    inputs = (Port("main", "Items to pass through."),)
    outputs = (Port("main", "The same items, unchanged."),)

    async def run(self, ctx: NodeContext, params: NoParams, inputs: NodeInputs) -> NodeOutput:
        return NodeOutput.main(list(inputs.get("main", [])))
