"""Tests of ``data.sort``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_sort import SortItems
from reporunner.nodes.testing import run_node


async def _ids(params: dict[str, Any], items: list[dict[str, Any]]) -> list[Any]:
    out = await run_node(SortItems, params, {"main": items})
    return [item["id"] for item in out.ports["main"]]


async def test_example_validates_and_runs() -> None:
    items = [
        {"id": 1, "priority": 1, "name": "b"},
        {"id": 2, "priority": 2, "name": "Z"},
        {"id": 3, "priority": 2, "name": "a"},
    ]
    assert await _ids(dict(SortItems.example), items) == [3, 2, 1]


async def test_ascending_descending_and_nested() -> None:
    items = [{"id": i, "m": {"p": p}} for i, p in [(1, 3.5), (2, -1), (3, 10)]]
    assert await _ids({"keys": [{"field": "m.p"}]}, items) == [2, 1, 3]
    assert await _ids({"keys": [{"field": "m.p", "order": "desc"}]}, items) == [3, 1, 2]


async def test_stable_for_equal_keys_in_both_directions() -> None:
    items = [{"id": i, "k": k} for i, k in enumerate([1, 0, 1, 0, 1])]
    assert await _ids({"keys": [{"field": "k"}]}, items) == [1, 3, 0, 2, 4]
    assert await _ids({"keys": [{"field": "k", "order": "desc"}]}, items) == [0, 2, 4, 1, 3]


async def test_multiple_keys() -> None:
    items = [
        {"id": 1, "team": "b", "score": 5},
        {"id": 2, "team": "a", "score": 1},
        {"id": 3, "team": "b", "score": 9},
        {"id": 4, "team": "a", "score": 7},
    ]
    params = {"keys": [{"field": "team"}, {"field": "score", "order": "desc"}]}
    assert await _ids(params, items) == [4, 2, 3, 1]


async def test_mixed_types_rule_and_missing_last_both_ways() -> None:
    values: list[Any] = ["b", 2, None, True, {"x": 1}, "A", 1.5, False, [0]]
    items = [{"id": i, "v": v} for i, v in enumerate(values)] + [{"id": "missing"}]
    asc = await _ids({"keys": [{"field": "v"}]}, items)
    assert asc == [7, 3, 6, 1, 5, 0, 8, 4, 2, "missing"]
    desc = await _ids({"keys": [{"field": "v", "order": "desc"}]}, items)
    assert desc == [4, 8, 0, 5, 1, 6, 3, 7, 2, "missing"]


async def test_case_insensitive_strings() -> None:
    items = [{"id": i, "n": n} for i, n in enumerate(["b", "B", "a", "C"])]
    assert await _ids({"keys": [{"field": "n"}]}, items) == [1, 3, 2, 0]
    params = {"keys": [{"field": "n", "case_sensitive": False}]}
    assert await _ids(params, items) == [2, 0, 1, 3]


async def test_input_list_is_not_reordered() -> None:
    items = [{"id": 2}, {"id": 1}]
    await _ids({"keys": [{"field": "id"}]}, items)
    assert items == [{"id": 2}, {"id": 1}]


def test_needs_a_key() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        SortItems.Params.model_validate({"keys": []})
