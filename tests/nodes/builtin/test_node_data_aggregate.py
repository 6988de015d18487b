"""Tests of ``data.aggregate``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_aggregate import Aggregate
from reporunner.nodes.testing import run_node

ITEMS: list[dict[str, Any]] = [
    {"id": 1, "email": "a@x", "tags": ["red"], "user": {"name": "Ann"}},
    {"id": 2, "tags": ["blue", "green"], "user": {"name": "Bob"}},
    {"id": 3, "email": None, "tags": [], "user": {}},
]


async def _run(params: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = await run_node(Aggregate, params, {"main": items})
    return out.ports["main"]


async def test_example_validates_and_runs() -> None:
    out = await _run(dict(Aggregate.example), ITEMS)
    assert out == [{"emails": ["a@x", None], "id": [1, 2, 3]}]


async def test_nested_fields_missing_values_and_output_paths() -> None:
    params: dict[str, Any] = {"fields": [{"field": "user.name", "output_name": "people.names"}]}
    assert await _run(params, ITEMS) == [{"people": {"names": ["Ann", "Bob"]}}]
    params["include_missing"] = True
    assert await _run(params, ITEMS) == [{"people": {"names": ["Ann", "Bob", None]}}]


async def test_merge_lists() -> None:
    params: dict[str, Any] = {"fields": [{"field": "tags"}]}
    assert await _run(params, ITEMS) == [{"tags": [["red"], ["blue", "green"], []]}]
    params["merge_lists"] = True
    assert await _run(params, ITEMS) == [{"tags": ["red", "blue", "green"]}]


async def test_all_items_into_one_item() -> None:
    out = await _run({"aggregate": "all_items", "destination": "data.rows"}, ITEMS[:2])
    assert out == [{"data": {"rows": ITEMS[:2]}}]
    out[0]["data"]["rows"][0]["id"] = 99
    assert ITEMS[0]["id"] == 1, "the output must not share objects with the input"


async def test_no_items_gives_one_item_with_empty_lists() -> None:
    assert await _run({"fields": [{"field": "id"}]}, []) == [{"id": []}]
    assert await _run({"aggregate": "all_items"}, []) == [{"items": []}]


def test_fields_mode_needs_fields() -> None:
    with pytest.raises(ValidationError, match="list at least one entry in 'fields'"):
        Aggregate.Params.model_validate({"aggregate": "fields"})
