"""Tests of ``data.dedupe``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_dedupe import Dedupe
from reporunner.nodes.testing import run_node


async def _run(params: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    out = await run_node(Dedupe, params, {"main": items})
    return out.ports


async def test_example_validates_and_runs() -> None:
    items = [{"email": "a", "n": 1}, {"email": "b", "n": 2}, {"email": "a", "n": 3}]
    ports = await _run(dict(Dedupe.example), items)
    assert ports == {"main": items[:2], "duplicates": items[2:]}


async def test_whole_item_ignores_key_order_but_not_types() -> None:
    items: list[dict[str, Any]] = [
        {"a": 1, "b": {"c": [1, 2]}},
        {"b": {"c": [1, 2]}, "a": 1},
        {"a": "1", "b": {"c": [1, 2]}},
        {"a": 1, "b": {"c": [2, 1]}},
    ]
    ports = await _run({}, items)
    assert ports["main"] == [items[0], items[2], items[3]]
    assert ports["duplicates"] == [items[1]]


async def test_fields_with_nested_paths_missing_and_null() -> None:
    items: list[dict[str, Any]] = [
        {"id": 1, "u": {"mail": "x"}, "t": 1},
        {"id": 2, "u": {"mail": "x"}, "t": 2},
        {"id": 3, "u": {"mail": None}, "t": 1},
        {"id": 4, "u": {}, "t": 1},
        {"id": 5, "u": {}, "t": 1},
    ]
    ports = await _run({"compare": "fields", "fields": ["u.mail"]}, items)
    assert [i["id"] for i in ports["main"]] == [1, 3, 4]
    ports = await _run({"compare": "fields", "fields": ["u.mail", "t"]}, items)
    assert [i["id"] for i in ports["main"]] == [1, 2, 3, 4]


async def test_keep_last_keeps_input_order() -> None:
    items = [{"k": "a", "n": 1}, {"k": "b", "n": 2}, {"k": "a", "n": 3}]
    ports = await _run({"compare": "fields", "fields": ["k"], "keep": "last"}, items)
    assert [i["n"] for i in ports["main"]] == [2, 3]
    assert [i["n"] for i in ports["duplicates"]] == [1]


async def test_empty_input() -> None:
    assert await _run({}, []) == {"main": [], "duplicates": []}


def test_fields_mode_needs_fields() -> None:
    with pytest.raises(ValidationError, match="list the fields to compare"):
        Dedupe.Params.model_validate({"compare": "fields"})
