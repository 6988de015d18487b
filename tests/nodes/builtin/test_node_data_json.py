"""Tests of ``data.json``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_json import JsonConvert
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node


async def _run(params: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = await run_node(JsonConvert, params, {"main": items})
    return out.ports["main"]


async def test_example_validates_and_runs() -> None:
    out = await _run(dict(JsonConvert.example), [{"status": 200, "body": '{"a": [1, 2]}'}])
    assert out == [{"status": 200, "body": '{"a": [1, 2]}', "data": {"a": [1, 2]}}]


async def test_parse_in_place_nested_and_scalars() -> None:
    items = [{"r": {"text": '"hi"'}}, {"r": {"text": "3.5"}}, {"r": {"text": "null"}}]
    out = await _run({"operation": "parse", "field": "r.text"}, items)
    assert [i["r"]["text"] for i in out] == ["hi", 3.5, None]
    assert items[0] == {"r": {"text": '"hi"'}}, "input items must not change"


async def test_parse_replace_item() -> None:
    params = {"operation": "parse", "field": "body", "replace_item": True}
    assert await _run(params, [{"body": '{"x": 1}'}]) == [{"x": 1}]
    # a non-object value cannot be an item: it goes to the destination instead
    assert await _run(params, [{"body": "[1]"}]) == [{"body": [1]}]


async def test_stringify_whole_item_and_field() -> None:
    item = {"b": 1, "a": {"ü": [True, None]}}
    out = await _run({"operation": "stringify", "sort_keys": True}, [item])
    assert out[0]["json"] == '{"a":{"ü":[true,null]},"b":1}'
    out = await _run(
        {"operation": "stringify", "field": "a", "indent": 2, "destination": "t"}, [item]
    )
    assert out[0]["t"] == '{\n  "ü": [\n    true,\n    null\n  ]\n}'
    assert out[0]["b"] == 1


@pytest.mark.parametrize(
    ("params", "item", "message"),
    [
        (
            {"operation": "parse", "field": "body"},
            {"body": '{"a": 1,}'},
            "data.json: field 'body' is not valid JSON: Expecting property name enclosed in double "
            "quotes at line 1 column 9",
        ),
        ({"operation": "parse", "field": "body"}, {}, "data.json: the item has no field 'body'"),
        (
            {"operation": "parse", "field": "body"},
            {"body": {"a": 1}},
            "field 'body' holds an object, not JSON text",
        ),
        (
            {"operation": "stringify", "field": "n"},
            {"n": float("nan")},
            "cannot write field 'n' as JSON",
        ),
        ({"operation": "stringify", "field": "missing"}, {}, "the item has no field 'missing'"),
    ],
)
async def test_errors_name_the_field(
    params: dict[str, Any], item: dict[str, Any], message: str
) -> None:
    with pytest.raises(NodeError, match=re.escape(message)):
        await _run(params, [item])


@pytest.mark.parametrize("depth", [101, 100_000])
async def test_absurd_nesting_is_refused(depth: int) -> None:
    text = "[" * depth + "]" * depth
    with pytest.raises(NodeError, match="more than 100 levels deep"):
        await _run({"operation": "parse", "field": "t"}, [{"t": text}])


async def test_nesting_up_to_the_limit_parses() -> None:
    text = "[" * 100 + "]" * 100
    [out] = await _run({"operation": "parse", "field": "t"}, [{"t": text}])
    assert isinstance(out["t"], list)


def test_parse_needs_field() -> None:
    with pytest.raises(ValidationError, match="needs 'field'"):
        JsonConvert.Params.model_validate({"operation": "parse"})
