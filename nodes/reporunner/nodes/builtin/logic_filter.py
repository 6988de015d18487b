"""``logic.filter``: keeps the items that match conditions."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._conditions import Combinator, Condition, matches

__all__ = ["Filter", "FilterParams"]


class FilterParams(BaseModel):
    """Params of ``logic.filter``."""

    model_config = ConfigDict(extra="forbid")

    conditions: list[Condition] = Field(
        min_length=1, description="Conditions an item must meet to be kept."
    )
    combinator: Combinator = Field(
        default="and",
        description="'and': keep items meeting every condition; 'or': meeting any of them.",
    )


class Filter(Node[FilterParams]):
    """Drops non-matching items; evaluated per item like ``logic.if``."""

    type = "logic.filter"
    category = Category.LOGIC
    display_name = "Filter"
    description = (
        "Keeps the input items that meet the conditions (same operators as If) and sends them "
        "unchanged out of 'main'; items that do not match go out of 'discarded'. Downstream "
        "nodes of 'main' do not run when nothing matches."
    )
    Params = FilterParams
    mode = "each"
    inputs = (Port("main", "Items to filter."),)
    outputs = (
        Port("main", "Items that meet the conditions."),
        Port("discarded", "Items that do not."),
    )
    example: ClassVar[dict[str, Any]] = {
        "conditions": [{"value": "{{ item.amount }}", "operator": "gte", "compare": 100}],
        "combinator": "and",
    }

    async def run(self, ctx: NodeContext, params: FilterParams, inputs: NodeInputs) -> NodeOutput:
        kept: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        for item in inputs.get("main", []):
            (kept if matches(params.conditions, params.combinator, item) else dropped).append(item)
        ports = {}
        if kept:
            ports["main"] = kept
        if dropped:
            ports["discarded"] = dropped
        return NodeOutput(ports)
