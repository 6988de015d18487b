"""Tests of ``data.set`` (Edit Fields)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_set import SetFields
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node


async def _run(params: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = await run_node(SetFields, params, {"main": items})
    return out.ports["main"]


async def test_example_validates_and_runs() -> None:
    example = copy.deepcopy(dict(SetFields.example))
    for field in example["fields"]:  # the engine would have rendered these expressions
        field["value"] = {"string": "a@b.c", "number": "12.5", "boolean": "true"}[field["type"]]
    out = await _run(example, [{"email": "a@b.c", "price": 5, "quantity": 2.5}])
    assert out == [
        {
            "email": "a@b.c",
            "price": 5,
            "quantity": 2.5,
            "customer": {"email": "a@b.c"},
            "total": 12.5,
            "paid": True,
        }
    ]


async def test_sets_each_item_and_keeps_other_fields() -> None:
    items: list[dict[str, Any]] = [{"id": 1, "meta": {"a": 1}}, {"id": 2}]
    out = await _run({"fields": [{"name": "meta.b", "value": "x"}]}, items)
    assert out == [{"id": 1, "meta": {"a": 1, "b": "x"}}, {"id": 2, "meta": {"b": "x"}}]
    assert items == [{"id": 1, "meta": {"a": 1}}, {"id": 2}], "input items must not change"


async def test_keep_only_set() -> None:
    out = await _run(
        {"fields": [{"name": "n", "value": "7", "type": "number"}], "keep_only_set": True},
        [{"id": 1, "other": True}],
    )
    assert out == [{"n": 7}]


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("string", 12, "12"),
        ("string", True, "true"),
        ("string", {"a": 1}, '{"a": 1}'),
        ("string", None, None),
        ("number", "42", 42),
        ("number", " 4.5 ", 4.5),
        ("number", 3, 3),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("boolean", 1, True),
        ("json", '{"a": [1, 2]}', {"a": [1, 2]}),
        ("json", [1, 2], [1, 2]),
        ("json", "null", None),
    ],
)
async def test_type_conversion(type_: str, value: Any, expected: Any) -> None:
    out = await _run({"fields": [{"name": "v", "value": value, "type": type_}]}, [{}])
    assert out == [{"v": expected}]
    assert type(out[0]["v"]) is type(expected)


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        ("number", "abc", "data.set: field 'v': string 'abc' is not a number"),
        ("number", "nan", "is not a number"),
        ("number", [1], "array [1] is not a number"),
        ("boolean", "maybe", "data.set: field 'v': string 'maybe' is not a boolean"),
        ("boolean", 2, "number 2 is not a boolean"),
        ("json", "{oops", "data.set: field 'v': the text is not valid JSON"),
        ("json", "[" * 5000 + "]" * 5000, "field 'v': the JSON nests more than 100 levels deep"),
    ],
)
async def test_conversion_errors_name_the_field(type_: str, value: Any, message: str) -> None:
    with pytest.raises(NodeError, match=re.escape(message)):
        await _run({"fields": [{"name": "v", "value": value, "type": type_}]}, [{}])


async def test_index_into_existing_array_and_error_past_its_end() -> None:
    out = await _run({"fields": [{"name": "tags.1", "value": "z"}]}, [{"tags": ["a", "b"]}])
    assert out == [{"tags": ["a", "z"]}]
    with pytest.raises(NodeError, match=r"field 'tags\.5': cannot set '5' inside an array"):
        await _run({"fields": [{"name": "tags.5", "value": "z"}]}, [{"tags": ["a"]}])


async def test_no_input_items_outputs_one_item() -> None:
    out = await run_node(SetFields, {"fields": [{"name": "a", "value": "1"}]})
    assert out.ports["main"] == [{"a": "1"}]


@pytest.mark.parametrize(
    "params",
    [
        {"fields": []},
        {"fields": [{"name": "a..b", "value": 1}]},
        {"fields": [{"name": "a", "value": 1, "type": "date"}]},
        {"fields": [{"name": "a"}], "unknown": 1},
    ],
)
def test_bad_params_are_refused(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SetFields.Params.model_validate(params)
