"""``data.dedupe``: remove duplicate items, comparing whole items or selected fields."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._data import MISSING, DottedPath, get_path, to_json_text

__all__ = ["Dedupe", "DedupeParams"]


class DedupeParams(BaseModel):
    """Params of ``data.dedupe``."""

    model_config = ConfigDict(extra="forbid")

    compare: Literal["whole_item", "fields"] = Field(
        default="whole_item",
        description="'whole_item': items are duplicates when all their fields are equal (key "
        "order does not matter); 'fields': when the fields listed in 'fields' are equal.",
    )
    fields: list[DottedPath] = Field(
        default_factory=list,
        description="Dotted paths compared when compare is 'fields'. A missing field differs "
        "from a null one.",
    )
    keep: Literal["first", "last"] = Field(
        default="first",
        description="Which item of each group of duplicates to keep: the first or the last "
        "seen. Kept items stay in input order.",
    )

    @model_validator(mode="after")
    def _fields_needed(self) -> DedupeParams:
        if self.compare == "fields" and not self.fields:
            raise ValueError("compare is 'fields': list the fields to compare in 'fields'")
        return self


def _key(item: Item, params: DedupeParams) -> str:
    if params.compare == "whole_item":
        return to_json_text(item)
    values = [get_path(item, path) for path in params.fields]
    return to_json_text([[v is MISSING, None if v is MISSING else v] for v in values])


class Dedupe(Node[DedupeParams]):
    """Remove duplicate items."""

    type = "data.dedupe"
    category = Category.TRANSFORM
    display_name = "Remove Duplicates"
    description = (
        "Outputs the input items without duplicates on 'main', in input order, and the removed "
        "items on 'duplicates'. Two items are duplicates when they are equal as a whole "
        "(compare 'whole_item') or when every field listed in 'fields' is equal (compare "
        "'fields'; values compare by JSON equality, so 1 and '1' differ and a missing field "
        "differs from null). 'keep' chooses whether the first or the last of a group survives."
    )
    Params = DedupeParams
    outputs = (
        Port("main", "Unique items"),
        Port("duplicates", "Items removed as duplicates"),
    )
    example: ClassVar[dict[str, Any]] = {"compare": "fields", "fields": ["email"], "keep": "first"}

    async def run(self, ctx: NodeContext, params: DedupeParams, inputs: NodeInputs) -> NodeOutput:
        """Keep one item per key."""
        items = list(inputs.get("main", []))
        keys = [_key(item, params) for item in items]
        order = range(len(items)) if params.keep == "first" else reversed(range(len(items)))
        chosen: dict[str, int] = {}
        for index in order:
            chosen.setdefault(keys[index], index)
        kept = set(chosen.values())
        unique = [item for index, item in enumerate(items) if index in kept]
        duplicates = [item for index, item in enumerate(items) if index not in kept]
        return NodeOutput({"main": unique, "duplicates": duplicates})
