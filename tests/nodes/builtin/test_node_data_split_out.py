"""Tests of ``data.split_out``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_split_out import SplitOut
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node


async def _run(params: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = await run_node(SplitOut, params, {"main": items})
    return out.ports["main"]


async def test_example_validates_and_runs() -> None:
    item = {"body": {"customer_id": 9, "orders": [{"sku": "a"}, {"sku": "b"}], "x": 1}}
    out = await _run(dict(SplitOut.example), [item])
    assert out == [
        {"body": {"customer_id": 9}, "sku": "a"},
        {"body": {"customer_id": 9}, "sku": "b"},
    ]


async def test_scalars_go_under_last_segment_and_objects_become_items() -> None:
    out = await _run({"field": "data.tags"}, [{"data": {"tags": ["x", {"k": 1}, 3]}}])
    assert out == [{"tags": "x"}, {"k": 1}, {"tags": 3}]


async def test_destination_and_other_fields() -> None:
    items: list[dict[str, Any]] = [
        {"id": 1, "rows": [{"a": 1}, {"a": 2}]},
        {"id": 2, "rows": []},
        {"id": 3, "rows": [{"a": 3}]},
    ]
    out = await _run({"field": "rows", "destination": "row", "include": "other_fields"}, items)
    assert out == [
        {"id": 1, "row": {"a": 1}},
        {"id": 1, "row": {"a": 2}},
        {"id": 3, "row": {"a": 3}},
    ]
    assert items[0]["rows"] == [{"a": 1}, {"a": 2}], "input items must not change"
    out[0]["row"]["a"] = 99
    assert items[0]["rows"][0] == {"a": 1}, "outputs must not share objects with inputs"


async def test_element_fields_win_over_copied_fields() -> None:
    out = await _run(
        {"field": "rows", "include": "other_fields"}, [{"a": "item", "rows": [{"a": "row"}]}]
    )
    assert out == [{"a": "row"}]


async def test_missing_field_fails_or_is_skipped() -> None:
    with pytest.raises(NodeError, match=r"data\.split_out: item 1 has no field 'rows'"):
        await _run({"field": "rows"}, [{"rows": [1]}, {}])
    out = await _run({"field": "rows", "skip_missing": True}, [{"rows": [1]}, {"rows": None}])
    assert out == [{"rows": 1}]


async def test_non_array_names_its_type() -> None:
    with pytest.raises(NodeError, match=r"field 'rows' is a string, not an array"):
        await _run({"field": "rows"}, [{"rows": "[1, 2]"}])


def test_selected_requires_include_fields() -> None:
    with pytest.raises(ValidationError, match="include_fields"):
        SplitOut.Params.model_validate({"field": "rows", "include": "selected"})
