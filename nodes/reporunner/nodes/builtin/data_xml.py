"""``data.xml``: parse XML text held in a field (safely), or build XML text from a value."""

from __future__ import annotations

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
from reporunner.nodes.builtin._xml import XmlProblem, build_xml, parse_xml

__all__ = ["XmlConvert", "XmlParams"]

TYPE = "data.xml"


class XmlParams(BaseModel):
    """Params of ``data.xml``."""

    model_config = ConfigDict(extra="forbid")

    operation: Literal["parse", "build"] = Field(
        description="'parse': XML text at 'field' to a value; 'build': the value at 'field' "
        "(or the whole item) to XML text."
    )
    field: DottedPath | None = Field(
        default=None,
        description="Dotted path of the source: the XML text for 'parse' (required), the value "
        "to write for 'build' (omit to write the whole item).",
    )
    destination: DottedPath | None = Field(
        default=None,
        description="Dotted path the result is written to; defaults to 'field' for 'parse' "
        "(the text is replaced by its value) and to 'xml' for 'build'.",
    )
    strip_namespaces: bool = Field(
        default=True,
        description="'parse': use local names ('feed') instead of '{namespace-uri}feed'.",
    )
    force_list: list[str] = Field(
        default_factory=list,
        description="'parse': tags that always become arrays, even when they occur once "
        "(keeps the shape stable for downstream nodes), e.g. ['item'].",
    )
    root_name: str | None = Field(
        default=None,
        description="'build': name of the root element. When omitted, the value must be an "
        "object with exactly one key, which becomes the root (the shape 'parse' produces).",
    )
    declaration: bool = Field(
        default=True, description="'build': start with '<?xml version=\"1.0\" ...?>'."
    )
    pretty: bool = Field(default=False, description="'build': indent nested elements.")

    @model_validator(mode="after")
    def _parse_needs_field(self) -> XmlParams:
        if self.operation == "parse" and self.field is None:
            raise ValueError("operation 'parse' needs 'field': the path of the XML text")
        return self


def _parse(item: Item, params: XmlParams) -> Item:
    path = params.field or ""
    text = get_path(item, path)
    if not isinstance(text, str):
        found = "no such field" if text is MISSING else a_json_type(text)
        raise fail(TYPE, f"field '{path}' must hold XML text, found {found}; fix 'field'")
    try:
        value = parse_xml(
            text, params.strip_namespaces, frozenset(params.force_list), max_depth=MAX_DEPTH
        )
    except XmlProblem as err:
        raise fail(TYPE, f"field '{path}': {err}") from err
    result = copy_item(item)
    set_path(result, params.destination or path, value)
    return result


def _build(item: Item, params: XmlParams) -> Item:
    value = item if params.field is None else get_path(item, params.field)
    source = f"field '{params.field}'" if params.field else "the item"
    if value is MISSING:
        raise fail(TYPE, f"the item has no field '{params.field}'; fix 'field' or omit it")
    if nesting_depth(value) > MAX_DEPTH:
        raise fail(TYPE, f"{source} nests more than {MAX_DEPTH} levels deep; flatten it first")
    root_name = params.root_name
    if root_name is None:
        if not isinstance(value, dict) or len(value) != 1:
            raise fail(
                TYPE,
                f"{source} must be an object with exactly one key (the root element) when "
                "'root_name' is omitted; set 'root_name' to wrap it",
            )
        [(root_name, value)] = value.items()
    try:
        text = build_xml(root_name, value, declaration=params.declaration, pretty=params.pretty)
    except XmlProblem as err:
        raise fail(TYPE, f"{source}: {err}") from err
    result = copy_item(item)
    set_path(result, params.destination or "xml", text)
    return result


class XmlConvert(Node[XmlParams]):
    """Parse or build XML."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "XML"
    description = (
        "Converts between XML text and values, once per input item, keeping the item's other "
        "fields. 'parse' reads the XML at 'field' into {root: content} (attributes as '@name', "
        "mixed text as '#text', repeated tags as arrays) and writes it to 'destination' "
        "(default: replaces the text); documents with a DTD or entities are refused (no XXE, no "
        "entity expansion). 'build' writes the value at 'field' (or the whole item) as XML "
        "text to 'destination' (default 'xml') using the same convention."
    )
    Params = XmlParams
    mode = "each"
    example: ClassVar[dict[str, Any]] = {
        "operation": "parse",
        "field": "body",
        "destination": "feed",
        "force_list": ["item"],
    }

    async def run(self, ctx: NodeContext, params: XmlParams, inputs: NodeInputs) -> NodeOutput:
        """Parse or build for each item."""
        convert = _parse if params.operation == "parse" else _build
        out: list[Item] = []
        for item in inputs.get("main") or [{}]:
            try:
                out.append(convert(item, params))
            except ValueError as err:  # set_path into an array past its end
                raise fail(TYPE, f"destination '{params.destination}': {err}") from err
        return NodeOutput.main(out)
