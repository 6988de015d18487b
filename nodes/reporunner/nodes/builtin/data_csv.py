"""``data.csv``: parse CSV text into items, or build CSV text from items."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.builtin._data import (
    MISSING,
    DottedPath,
    a_json_type,
    fail,
    get_path,
    set_path,
)

__all__ = ["CsvConvert", "CsvParams"]

TYPE = "data.csv"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CsvParams(BaseModel):
    """Params of ``data.csv``."""

    model_config = ConfigDict(extra="forbid")

    operation: Literal["parse", "build"] = Field(
        description="'parse': CSV text to one item per row; 'build': items to one item holding "
        "CSV text."
    )
    text: str | None = Field(
        default=None,
        description="'parse': the CSV text itself (e.g. '{{ nodes.fetch.output.body }}'); when "
        "omitted, the text is read from 'field' of every input item.",
    )
    field: DottedPath = Field(
        default="data",
        description="'parse': dotted path of the CSV text in each input item (used when 'text' "
        "is omitted).",
    )
    header: bool = Field(
        default=True,
        description="'parse': the first row holds the column names. 'build': write a header row.",
    )
    columns: list[str] | None = Field(
        default=None,
        description="'parse': column names to use (required when 'header' is false; when "
        "'header' is true they replace the header's names). 'build': columns to write, as "
        "dotted paths, in order; default: every top-level key, in order of first appearance.",
    )
    delimiter: str = Field(default=",", description="Field separator: one character, e.g. ';'.")
    quote_char: str = Field(default='"', description="Quote character: one character.")
    skip_empty_lines: bool = Field(
        default=True, description="'parse': ignore blank lines instead of making empty items."
    )
    destination: DottedPath = Field(
        default="csv", description="'build': dotted path of the CSV text in the output item."
    )
    line_terminator: Literal["\n", "\r\n"] = Field(
        default="\n", description="'build': line ending, '\\n' or '\\r\\n' (RFC 4180)."
    )
    escape_formulas: bool = Field(
        default=False,
        description="'build': prefix text cells that start with =, +, -, @ with a quote (') so "
        "that spreadsheets do not run them as formulas (CSV injection).",
    )

    @field_validator("delimiter", "quote_char")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1 or value in "\r\n":
            raise ValueError(f"must be exactly one character other than a newline, got {value!r}")
        return value

    @model_validator(mode="after")
    def _check(self) -> CsvParams:
        if self.delimiter == self.quote_char:
            raise ValueError("'delimiter' and 'quote_char' must differ")
        if self.operation == "parse" and not self.header and not self.columns:
            raise ValueError("with 'header' false, list the column names in 'columns'")
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise ValueError("'columns' names a column twice; give each column once")
        return self


def _names(header: list[str], params: CsvParams) -> list[str]:
    if params.columns:
        return list(params.columns)
    names = [name.strip() or f"column_{i}" for i, name in enumerate(header, start=1)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise fail(
                TYPE,
                f"the header names column '{name}' twice; rename one in the file or give 'columns'",
            )
        seen.add(name)
    return names


def parse_rows(text: str, params: CsvParams, source: str) -> Iterator[Item]:
    """Yield one item per data row of ``text``.

    Raises:
        NodeError: malformed CSV, or a row whose field count differs from the header's.
    """
    reader = csv.reader(
        io.StringIO(text.removeprefix("\ufeff"), newline=""),
        delimiter=params.delimiter,
        quotechar=params.quote_char,
        strict=True,
    )
    names: list[str] | None = None if params.header else list(params.columns or [])
    try:
        for row_number, row in enumerate(reader, start=1):
            if not row and params.skip_empty_lines:
                continue
            if names is None:
                names = _names(row, params)
                continue
            if len(row) != len(names):
                raise fail(
                    TYPE,
                    f"{source}row {row_number} has {len(row)} fields, header has {len(names)} "
                    f"(line {reader.line_num}); fix the row or check 'delimiter' "
                    f"({params.delimiter!r})",
                )
            yield dict(zip(names, row, strict=True))
    except csv.Error as err:
        raise fail(TYPE, f"{source}malformed CSV at line {reader.line_num}: {err}") from err


def _cell(value: Any, escape_formulas: bool) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    if escape_formulas and isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def build_text(items: list[Item], params: CsvParams) -> str:
    """CSV text of ``items`` (cells: null → empty, booleans → true/false, objects → JSON)."""
    columns = params.columns or list(dict.fromkeys(key for item in items for key in item))
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=params.delimiter,
        quotechar=params.quote_char,
        lineterminator=params.line_terminator,
    )
    if params.header:
        writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(get_path(item, col), params.escape_formulas) for col in columns])
    return buffer.getvalue()


class CsvConvert(Node[CsvParams]):
    """Parse or build CSV."""

    type = TYPE
    category = Category.TRANSFORM
    display_name = "CSV"
    description = (
        "'parse' turns CSV text ('text', or the text at 'field' of every input item) into one "
        "item per row, keyed by the header's column names (or 'columns'); values stay strings "
        "and a row with a different number of fields fails the node, naming the row. 'build' "
        "turns all input items into one item whose 'destination' field holds CSV text with the "
        "given 'columns' (default: every top-level key). Delimiter and quote are configurable."
    )
    Params = CsvParams
    example: ClassVar[dict[str, Any]] = {
        "operation": "parse",
        "field": "body",
        "delimiter": ";",
        "header": True,
    }

    async def run(self, ctx: NodeContext, params: CsvParams, inputs: NodeInputs) -> NodeOutput:
        """Parse every source text, or build one text from every item."""
        items = list(inputs.get("main", []))
        if params.operation == "build":
            result: Item = {}
            set_path(result, params.destination, build_text(items, params))
            return NodeOutput.main([result])
        if params.text is not None:
            return NodeOutput.main(list(parse_rows(params.text, params, "")))
        rows: list[Item] = []
        for index, item in enumerate(items):
            text = get_path(item, params.field)
            if not isinstance(text, str):
                found = "no such field" if text is MISSING else a_json_type(text)
                raise fail(
                    TYPE,
                    f"item {index}: field '{params.field}' must hold CSV text, found {found}; "
                    "point 'field' at the text or pass it in 'text'",
                )
            rows.extend(parse_rows(text, params, f"item {index}: "))
        return NodeOutput.main(rows)
