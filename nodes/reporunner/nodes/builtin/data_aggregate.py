"""``data.aggregate``: collect values of many items into one item."""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import MISSING, DottedPath, get_path, set_path

__all__ = ["Aggregate", "AggregateField", "AggregateParams"]

TYPE = "data.aggregate"


class AggregateField(BaseModel):
    """One field whose values are collected into a list."""

    model_config = ConfigDict(extra="forbid")

    field: DottedPath = Field(description="Dotted path read from every item, e.g. 'user.email'.")
    output_name: DottedPath | None = Field(
        default=None,
        description="Dotted path of the list in the output item; defaults to 'field'.",
    )


class AggregateParams(BaseModel):
    """Params of ``data.aggregate``."""

    model_config = ConfigDict(extra="forbid")

    aggregate: Literal["fields", "all_items"] = Field(
        default="fields",
        description="'fields': one list per entry of 'fields' with that field's value from each "
        "item; 'all_items': one list holding every input item whole.",
    )
    fields: list[AggregateField] = Field(
        default_factory=list,
        description="Fields to collect when aggregate is 'fields' (at least one).",
    )
    destination: DottedPath = Field(
        default="items",
        description="Dotted path of the list of items when aggregate is 'all_items'.",
    )
    include_missing: bool = Field(
        default=False,
        description="If true, an item lacking a field adds null to its list (lists stay aligned "
        "by item); if false, it adds nothing.",
    )
    merge_lists: bool = Field(
        default=False,
        description="If true, a value that is itself an array is spread into the list instead "
        "of being added as one nested array.",
    )

    @model_validator(mode="after")
    def _fields_needed(self) -> AggregateParams:
        if self.aggregate == "fields" and not self.fields:
            raise ValueError(
                "aggregate is 'fields': list at least one entry in 'fields', or use 'all_items'"
            )
        return self


def _collect(items: list[Item], spec: AggregateField, params: AggregateParams) -> list[Any]:
    values: list[Any] = []
    for item in items:
        value = get_path(item, spec.field)
        if value is MISSING:
            if params.include_missing:
                values.append(None)
            continue
        value = copy.deepcopy(value)
        if params.merge_lists and isinstance(value, list):
            values.extend(value)
        else:
            values.append(value)
    return values


class Aggregate(Node[AggregateParams]):
    """Collect field values (or whole items) of all input items into one item."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Aggregate"
    description = (
        "Combines all input items into exactly one output item. With aggregate 'fields', each "
        "entry of 'fields' becomes a list (at 'output_name', default the field path) of that "
        "field's values across the items, in input order; items lacking the field add null only "
        "if 'include_missing'. With 'all_items', the output holds the list of every input item "
        "under 'destination'. With no input items the lists are empty."
    )
    Params = AggregateParams
    example: ClassVar[dict[str, Any]] = {
        "aggregate": "fields",
        "fields": [{"field": "email", "output_name": "emails"}, {"field": "id"}],
    }

    async def run(
        self, ctx: NodeContext, params: AggregateParams, inputs: NodeInputs
    ) -> NodeOutput:
        """Build the one aggregated item."""
        items = list(inputs.get("main", []))
        result: Item = {}
        if params.aggregate == "all_items":
            set_path(result, params.destination, copy.deepcopy(items))
        else:
            for spec in params.fields:
                set_path(result, spec.output_name or spec.field, _collect(items, spec, params))
        return NodeOutput.main([result])
