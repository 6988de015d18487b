"""Tests of ``data.csv``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_csv import CsvConvert
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node


async def _run(params: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = await run_node(CsvConvert, params, {"main": items})
    return out.ports["main"]


async def test_example_validates_and_runs() -> None:
    body = "name;city\nAnn;Paris\n"
    assert await _run(dict(CsvConvert.example), [{"body": body}]) == [
        {"name": "Ann", "city": "Paris"}
    ]


async def test_parse_quotes_newlines_bom_and_blank_lines() -> None:
    text = '\ufeffid,note\r\n1,"hello, ""world"""\r\n\r\n2,"two\nlines"\r\n3,\r\n'
    out = await _run({"operation": "parse", "text": text}, [])
    assert out == [
        {"id": "1", "note": 'hello, "world"'},
        {"id": "2", "note": "two\nlines"},
        {"id": "3", "note": ""},
    ]


async def test_parse_every_input_item_with_tab_delimiter() -> None:
    items = [{"data": "a\tb\n1\t2\n"}, {"data": "a\tb\n3\t4\n"}]
    out = await _run({"operation": "parse", "delimiter": "\t"}, items)
    assert out == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


async def test_parse_without_header_and_with_renamed_columns() -> None:
    params: dict[str, Any] = {"operation": "parse", "text": "1,2\n3,4", "header": False}
    params["columns"] = ["x", "y"]
    assert await _run(params, []) == [{"x": "1", "y": "2"}, {"x": "3", "y": "4"}]
    params["header"] = True
    assert await _run(params, []) == [{"x": "3", "y": "4"}]


async def test_empty_header_names_are_numbered() -> None:
    out = await _run({"operation": "parse", "text": "a,,c\n1,2,3"}, [])
    assert out == [{"a": "1", "column_2": "2", "c": "3"}]


@pytest.mark.parametrize(
    ("params", "items", "message"),
    [
        (
            {"text": "a,b,c\n1,2,3\n4,5,6,7\n"},
            [],
            "data.csv: row 3 has 4 fields, header has 3 (line 3)",
        ),
        (
            {},
            [{"data": "a,b\n1,2\n"}, {"data": "a,b\n1\n"}],
            "data.csv: item 1: row 2 has 1 fields, header has 2 (line 2)",
        ),
        ({"text": "a,a\n1,2"}, [], "the header names column 'a' twice"),
        ({"text": 'a,b\n"1"x,2'}, [], "data.csv: malformed CSV at line 2"),
        ({}, [{"data": ["a"]}], "item 0: field 'data' must hold CSV text, found an array"),
        ({}, [{}], "item 0: field 'data' must hold CSV text, found no such field"),
    ],
)
async def test_parse_errors_name_the_row(
    params: dict[str, Any], items: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(NodeError, match=re.escape(message)):
        await _run({"operation": "parse", **params}, items)


async def test_build_from_items() -> None:
    items: list[dict[str, Any]] = [
        {"id": 1, "name": 'Ann "A", Jr', "tags": ["x"]},
        {"id": 2, "active": False, "name": None},
    ]
    out = await _run({"operation": "build"}, items)
    assert out == [
        {
            "csv": 'id,name,tags,active\n1,"Ann ""A"", Jr","[""x""]",\n2,,,false\n',
        }
    ]


async def test_build_columns_paths_and_options() -> None:
    items = [{"u": {"n": "=1+1"}, "v": -3}]
    params = {
        "operation": "build",
        "columns": ["u.n", "v"],
        "delimiter": ";",
        "header": False,
        "line_terminator": "\r\n",
        "escape_formulas": True,
        "destination": "file.text",
    }
    assert await _run(params, items) == [{"file": {"text": "'=1+1;-3\r\n"}}]


async def test_build_then_parse_round_trips() -> None:
    items = [{"a": "1", "b": "x,y"}, {"a": "2", "b": 'q"z'}]
    [built] = await _run({"operation": "build"}, items)
    assert await _run({"operation": "parse", "field": "csv"}, [built]) == items


async def test_build_with_no_items() -> None:
    assert await _run({"operation": "build", "columns": ["a"]}, []) == [{"csv": "a\n"}]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"operation": "parse", "delimiter": ";;"}, "exactly one character"),
        ({"operation": "parse", "delimiter": '"'}, "must differ"),
        ({"operation": "parse", "header": False}, "list the column names"),
        ({"operation": "build", "columns": ["a", "a"]}, "names a column twice"),
    ],
)
def test_bad_params_are_refused(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CsvConvert.Params.model_validate(params)
