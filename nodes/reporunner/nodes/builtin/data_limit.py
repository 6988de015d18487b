"""``data.limit``: keep only the first or last N items."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput

__all__ = ["Limit", "LimitParams"]


class LimitParams(BaseModel):
    """Params of ``data.limit``."""

    model_config = ConfigDict(extra="forbid")

    max_items: int = Field(ge=0, description="How many items to keep (0 keeps none).")
    keep: Literal["first", "last"] = Field(
        default="first", description="Keep the first or the last 'max_items' items."
    )


class Limit(Node[LimitParams]):
    """Keep only the first or last N items."""

    type = "data.limit"
    category = Category.TRANSFORM
    display_name = "Limit"
    description = (
        "Outputs at most 'max_items' of the input items, in their input order: the first ones "
        "(keep 'first') or the last ones (keep 'last'). Fewer input items pass unchanged."
    )
    Params = LimitParams
    example: ClassVar[dict[str, Any]] = {"max_items": 10, "keep": "first"}

    async def run(self, ctx: NodeContext, params: LimitParams, inputs: NodeInputs) -> NodeOutput:
        """Slice the input items."""
        items = list(inputs.get("main", []))
        if params.max_items == 0:
            return NodeOutput.main([])
        if params.keep == "first":
            return NodeOutput.main(items[: params.max_items])
        return NodeOutput.main(items[-params.max_items :])
