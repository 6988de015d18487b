"""``logic.if``: routes each item to ``true`` or ``false`` by conditions."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._conditions import Combinator, Condition, matches

__all__ = ["If", "IfParams"]


class IfParams(BaseModel):
    """Params of ``logic.if``."""

    model_config = ConfigDict(extra="forbid")

    conditions: list[Condition] = Field(
        min_length=1, description="Conditions tested against each item."
    )
    combinator: Combinator = Field(
        default="and",
        description="'and': the item is true when every condition holds; 'or': when any does.",
    )


class If(Node[IfParams]):
    """Two-way branch, evaluated per item (params are rendered against each item)."""

    type = "logic.if"
    category = Category.LOGIC
    display_name = "If"
    description = (
        "Tests each input item against conditions (equals, not_equals, contains, regex, gt, "
        "lt, gte, lte, exists, not_exists, is_empty...) combined with and/or, and sends the "
        "item unchanged out of 'true' when they hold, else out of 'false'. Only the branch "
        "that receives items runs."
    )
    Params = IfParams
    mode = "each"
    inputs = (Port("main", "Items to test."),)
    outputs = (
        Port("true", "Items for which the conditions hold."),
        Port("false", "Items for which they do not."),
    )
    example: ClassVar[dict[str, Any]] = {
        "conditions": [
            {"value": "{{ item.status }}", "operator": "equals", "compare": "paid"},
            {"field": "customer.email", "operator": "exists"},
        ],
        "combinator": "and",
    }

    async def run(self, ctx: NodeContext, params: IfParams, inputs: NodeInputs) -> NodeOutput:
        true: list[dict[str, Any]] = []
        false: list[dict[str, Any]] = []
        for item in inputs.get("main", []):
            (true if matches(params.conditions, params.combinator, item) else false).append(item)
        ports = {}
        if true:
            ports["true"] = true
        if false:
            ports["false"] = false
        return NodeOutput(ports)
