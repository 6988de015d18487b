"""``data.set``: set or edit fields of each item (n8n's "Edit Fields (Set)")."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import (
    MAX_DEPTH,
    DottedPath,
    copy_item,
    fail,
    json_type,
    nesting_depth,
    set_path,
)

__all__ = ["FieldAssignment", "SetFields", "SetFieldsParams"]

TYPE = "data.set"

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class FieldAssignment(BaseModel):
    """One field to write into each item."""

    model_config = ConfigDict(extra="forbid")

    name: DottedPath = Field(
        description="Dotted path of the field to set, e.g. 'customer.email'; missing objects on "
        "the way are created. A digit segment indexes an existing array ('tags.0')."
    )
    value: Any = Field(
        default=None,
        description="Value to write; usually an expression such as '{{ item.first }}' that the "
        "engine renders per item before this node runs.",
    )
    type: Literal["string", "number", "boolean", "json"] = Field(
        default="string",
        description="Type the value is converted to: 'string' (objects and arrays become JSON "
        "text, null stays null), 'number' (int or float, text like '42' or '4.2' is parsed), "
        "'boolean' (true/false, 1/0, yes/no, on/off), 'json' (text is parsed as JSON, other "
        "values are kept as they are).",
    )


class SetFieldsParams(BaseModel):
    """Params of ``data.set``."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FieldAssignment] = Field(
        min_length=1,
        description="Fields to set, applied in order (a later entry may overwrite an earlier).",
    )
    keep_only_set: bool = Field(
        default=False,
        description="If true, output items hold only the fields set here; if false, the input "
        "item's other fields are kept.",
    )


def _to_number(name: str, value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise fail(
        TYPE,
        f"field '{name}': {json_type(value)} {value!r} is not a number; give a number such as "
        "42 or 4.2, or change the field's type",
    )


def _to_boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise fail(
        TYPE,
        f"field '{name}': {json_type(value)} {value!r} is not a boolean; give true/false, "
        "1/0, yes/no or on/off, or change the field's type",
    )


def _to_json(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise fail(
            TYPE, f"field '{name}': the text is not valid JSON ({err}); fix it or use type 'string'"
        ) from err
    except RecursionError:
        parsed = None
        depth_exceeded = True
    else:
        depth_exceeded = nesting_depth(parsed) > MAX_DEPTH
    if depth_exceeded:
        raise fail(TYPE, f"field '{name}': the JSON nests more than {MAX_DEPTH} levels deep")
    return parsed


def convert(assignment: FieldAssignment) -> Any:
    """The assignment's value converted to its declared type.

    Raises:
        NodeError: the value cannot be converted; the message names the field.
    """
    value, name = assignment.value, assignment.name
    if assignment.type == "json":
        return _to_json(name, value)
    if value is None:
        return None
    if assignment.type == "number":
        return _to_number(name, value)
    if assignment.type == "boolean":
        return _to_boolean(name, value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


class SetFields(Node[SetFieldsParams]):
    """Set fields of each item to fixed or computed values."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "Edit Fields (Set)"
    description = (
        "Sets fields on each input item and outputs one item per input item. Each entry of "
        "'fields' names a dotted path and a value (usually an expression rendered against the "
        "item) converted to string, number, boolean or JSON. With 'keep_only_set' the output "
        "holds only the set fields; otherwise the input item's other fields are kept. With no "
        "input items it outputs one item built from the fields alone."
    )
    Params = SetFieldsParams
    mode = "each"
    example: ClassVar[dict[str, Any]] = {
        "fields": [
            {"name": "customer.email", "value": "{{ item.email }}", "type": "string"},
            {"name": "total", "value": "{{ item.price * item.quantity }}", "type": "number"},
            {"name": "paid", "value": "true", "type": "boolean"},
        ],
        "keep_only_set": False,
    }

    async def run(
        self, ctx: NodeContext, params: SetFieldsParams, inputs: NodeInputs
    ) -> NodeOutput:
        """Apply the assignments to each item (the engine passes one item per call)."""
        items = inputs.get("main") or [{}]
        out: list[Item] = []
        for item in items:
            result: Item = {} if params.keep_only_set else copy_item(item)
            for assignment in params.fields:
                try:
                    set_path(result, assignment.name, convert(assignment))
                except ValueError as err:
                    raise fail(TYPE, f"field '{assignment.name}': {err}") from err
            out.append(result)
        return NodeOutput.main(out)
