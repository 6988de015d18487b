"""``data.split_out``: turn an array field into one item per element."""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import (
    MISSING,
    DottedPath,
    a_json_type,
    copy_item,
    fail,
    get_path,
    pop_path,
    set_path,
)

__all__ = ["SplitOut", "SplitOutParams"]

TYPE = "data.split_out"


class SplitOutParams(BaseModel):
    """Params of ``data.split_out``."""

    model_config = ConfigDict(extra="forbid")

    field: DottedPath = Field(description="Dotted path of the array to split, e.g. 'body.orders'.")
    destination: DottedPath | None = Field(
        default=None,
        description="Dotted path where each element is written in its output item. If omitted, "
        "an element that is an object becomes the output item itself and any other element is "
        "written under the last segment of 'field' (e.g. 'orders').",
    )
    include: Literal["none", "other_fields", "selected"] = Field(
        default="none",
        description="Which fields of the input item to copy into every output item: 'none', "
        "'other_fields' (all but the split array) or 'selected' (those in 'include_fields'). "
        "Element fields win over copied fields of the same name.",
    )
    include_fields: list[DottedPath] = Field(
        default_factory=list,
        description="Dotted paths copied into every output item when include is 'selected'.",
    )
    skip_missing: bool = Field(
        default=False,
        description="If true, items whose field is missing or null produce no output; if "
        "false, they fail the node.",
    )

    @model_validator(mode="after")
    def _selected_needs_fields(self) -> SplitOutParams:
        if self.include == "selected" and not self.include_fields:
            raise ValueError("include is 'selected': list the fields to copy in 'include_fields'")
        return self


def _base(item: Item, params: SplitOutParams) -> Item:
    if params.include == "other_fields":
        base = copy_item(item)
        pop_path(base, params.field)
        return base
    base = {}
    if params.include == "selected":
        for path in params.include_fields:
            value = get_path(item, path)
            if value is not MISSING:
                set_path(base, path, copy.deepcopy(value))
    return base


def _element_item(element: Any, params: SplitOutParams) -> Item:
    if params.destination is None and isinstance(element, dict):
        return copy_item(element)
    out: Item = {}
    name = params.destination or params.field.rsplit(".", 1)[-1]
    set_path(out, name, copy.deepcopy(element))
    return out


class SplitOut(Node[SplitOutParams]):
    """Split an array field of each item into separate items."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Split Out"
    description = (
        "For every input item, reads the array at 'field' and outputs one item per element, in "
        "order. An object element becomes the output item (unless 'destination' is set); any "
        "other element is written under 'destination' or the last segment of 'field'. 'include' "
        "copies none, all other, or selected fields of the input item into each output item. "
        "An empty array outputs nothing; a field that is not an array fails the node."
    )
    Params = SplitOutParams
    example: ClassVar[dict[str, Any]] = {
        "field": "body.orders",
        "include": "selected",
        "include_fields": ["body.customer_id"],
    }

    async def run(self, ctx: NodeContext, params: SplitOutParams, inputs: NodeInputs) -> NodeOutput:
        """Emit one item per array element of every input item."""
        out: list[Item] = []
        for index, item in enumerate(inputs.get("main", [])):
            array = get_path(item, params.field)
            if array is MISSING or array is None:
                if params.skip_missing:
                    continue
                raise fail(
                    TYPE,
                    f"item {index} has no field '{params.field}'; fix the path or set "
                    "'skip_missing' to true",
                )
            if not isinstance(array, list):
                raise fail(
                    TYPE,
                    f"item {index}: field '{params.field}' is {a_json_type(array)}, not an "
                    "array; point 'field' at an array (parse JSON text first with data.json)",
                )
            base = _base(item, params)
            for element in array:
                out.append({**copy.deepcopy(base), **_element_item(element, params)})
        return NodeOutput.main(out)
