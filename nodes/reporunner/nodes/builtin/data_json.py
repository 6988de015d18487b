"""``data.json``: parse JSON text held in a field, or build JSON text from a value."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import (
    MAX_DEPTH,
    MISSING,
    DottedPath,
    a_json_type,
    copy_item,
    fail,
    get_path,
    nesting_depth,
    set_path,
)
from reporunner.nodes.errors import NodeError

__all__ = ["JsonConvert", "JsonParams"]

TYPE = "data.json"


class JsonParams(BaseModel):
    """Params of ``data.json``."""

    model_config = ConfigDict(extra="forbid")

    operation: Literal["parse", "stringify"] = Field(
        description="'parse': read JSON text from 'field' into a value; 'stringify': write the "
        "value at 'field' (or the whole item) as JSON text."
    )
    field: DottedPath | None = Field(
        default=None,
        description="Dotted path of the source: the JSON text for 'parse' (required), the value "
        "to write for 'stringify' (omit to write the whole item).",
    )
    destination: DottedPath | None = Field(
        default=None,
        description="Dotted path the result is written to; defaults to 'field' for 'parse' "
        "(the text is replaced by its value) and to 'json' for 'stringify'.",
    )
    replace_item: bool = Field(
        default=False,
        description="'parse' only: if true and the JSON is an object, it becomes the output "
        "item instead of being written to 'destination'.",
    )
    indent: int | None = Field(
        default=None,
        ge=0,
        le=8,
        description="'stringify' only: spaces of indentation for pretty output; omit for "
        "compact text.",
    )
    sort_keys: bool = Field(
        default=False, description="'stringify' only: write object keys in sorted order."
    )

    @model_validator(mode="after")
    def _parse_needs_field(self) -> JsonParams:
        if self.operation == "parse" and self.field is None:
            raise ValueError("operation 'parse' needs 'field': the path of the JSON text")
        return self


def _too_deep(path: str) -> NodeError:
    return fail(
        TYPE,
        f"field '{path}' nests objects/arrays more than {MAX_DEPTH} levels deep, which is "
        "refused; flatten the document",
    )


def _parse(item: Item, params: JsonParams) -> Item:
    path = params.field or ""
    text = get_path(item, path)
    if text is MISSING:
        raise fail(TYPE, f"the item has no field '{path}'; point 'field' at the JSON text")
    if not isinstance(text, str | bytes):
        raise fail(
            TYPE,
            f"field '{path}' holds {a_json_type(text)}, not JSON text; it is already parsed, so "
            "read it directly (e.g. with an expression) or use 'stringify'",
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise fail(
            TYPE,
            f"field '{path}' is not valid JSON: {err.msg} at line {err.lineno} column "
            f"{err.colno}; fix the text or check which field holds it",
        ) from err
    except UnicodeDecodeError as err:
        raise fail(TYPE, f"field '{path}' is not UTF-8 encoded JSON: {err}") from err
    except RecursionError as err:
        raise _too_deep(path) from err
    if nesting_depth(value) > MAX_DEPTH:
        raise _too_deep(path)
    if params.replace_item and isinstance(value, dict):
        return value
    result = copy_item(item)
    set_path(result, params.destination or path, value)
    return result


def _stringify(item: Item, params: JsonParams) -> Item:
    value = item if params.field is None else get_path(item, params.field)
    if value is MISSING:
        raise fail(TYPE, f"the item has no field '{params.field}'; fix 'field' or omit it")
    try:
        text = json.dumps(
            value,
            indent=params.indent,
            sort_keys=params.sort_keys,
            ensure_ascii=False,
            allow_nan=False,
            separators=None if params.indent is not None else (",", ":"),
        )
    except (TypeError, ValueError) as err:
        raise fail(TYPE, f"cannot write field '{params.field or '(item)'}' as JSON: {err}") from err
    result = copy_item(item)
    set_path(result, params.destination or "json", text)
    return result


class JsonConvert(Node[JsonParams]):
    """Parse or build JSON text."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "JSON"
    description = (
        "Converts between JSON text and values, once per input item, keeping the item's other "
        "fields. 'parse' reads the JSON text at 'field' and writes the value to 'destination' "
        "(default: replaces the text in place), or makes a parsed object the whole item with "
        "'replace_item'. 'stringify' writes the value at 'field' (or the whole item) as JSON "
        "text to 'destination' (default 'json'), compact or indented."
    )
    Params = JsonParams
    mode = "each"
    example: ClassVar[dict[str, Any]] = {
        "operation": "parse",
        "field": "body",
        "destination": "data",
    }

    async def run(self, ctx: NodeContext, params: JsonParams, inputs: NodeInputs) -> NodeOutput:
        """Parse or stringify each item."""
        convert = _parse if params.operation == "parse" else _stringify
        out: list[Item] = []
        for item in inputs.get("main") or [{}]:
            try:
                out.append(convert(item, params))
            except ValueError as err:  # set_path into an array past its end
                raise fail(TYPE, f"destination '{params.destination}': {err}") from err
        return NodeOutput.main(out)
