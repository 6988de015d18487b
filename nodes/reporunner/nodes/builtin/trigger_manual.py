"""``trigger.manual``: starts a workflow by hand (the Run button or ``POST /executions``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reporunner.nodes.base import (
    Category,
    Node,
    NodeContext,
    NodeInputs,
    NodeOutput,
    Port,
)
from reporunner.nodes.builtin._input_schema import DESCRIPTION, check_input, check_schema

__all__ = ["ManualParams", "ManualTrigger"]


class ManualParams(BaseModel):
    """Params of ``trigger.manual``."""

    model_config = ConfigDict(extra="forbid")

    input_schema: dict[str, Any] | None = Field(
        default=None,
        description='JSON Schema ("type": "object") of the run\'s input object. ' + DESCRIPTION,
    )

    @field_validator("input_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_schema(value, object_only=True)


class ManualTrigger(Node[ManualParams]):
    """Entry point of workflows started on demand; emits the item given when starting."""

    type = "trigger.manual"
    category = Category.TRIGGER
    display_name = "Manual trigger"
    description = (
        "Starts the workflow when a user clicks Run or an API client calls POST /executions. "
        "Outputs one item on 'main': the JSON object given as the run's input ({} when none); "
        "when it is called as a sub-workflow with several items, it outputs those items. "
        "Optional 'input_schema' (a JSON Schema object) declares the input's fields: a run "
        "whose input does not match fails with the field named, and MCP clients get it as the "
        "workflow tool's input schema."
    )
    Params = ManualParams
    literal_params = frozenset({"input_schema"})
    inputs = ()
    outputs = (Port("main", "The trigger item (the run's input object)."),)

    @classmethod
    def check_start(cls, params: Mapping[str, Any], item: Mapping[str, Any]) -> None:
        """Refuse a run input the declared schema rejects; the platform calls this before it
        queues a run (422 with ``/input/<field>`` pointers).

        Raises:
            ValidationFailed: the input does not match ``input_schema``.
        """
        schema = params.get("input_schema")
        if isinstance(schema, dict):
            check_input(schema, dict(item), what="the run's input", prefix="/input")

    async def run(self, ctx: NodeContext, params: ManualParams, inputs: NodeInputs) -> NodeOutput:
        given = [dict(item) for items in inputs.values() for item in items]
        items = given or [dict(ctx.trigger)]
        for index, item in enumerate(items):
            what = "the run's input" if len(items) == 1 else f"input item {index}"
            check_input(params.input_schema, item, what=what)
        return NodeOutput.main(items)
