"""Tests of ``data.rename_keys``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_rename_keys import RenameKeys
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node


async def _run(params: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = await run_node(RenameKeys, params, {"main": items})
    return out.ports["main"]


async def test_example_validates_and_runs() -> None:
    out = await _run(dict(RenameKeys.example), [{"user_id": 7, "mail": "a@b.c", "x": 1}])
    assert out == [{"x": 1, "user": {"id": 7}, "email": "a@b.c"}]


async def test_moves_out_of_nested_objects_and_skips_missing() -> None:
    items: list[dict[str, Any]] = [{"a": {"b": 1, "c": 2}}, {"z": 0}]
    out = await _run({"renames": [{"from_key": "a.b", "to_key": "b"}]}, items)
    assert out == [{"a": {"c": 2}, "b": 1}, {"z": 0}]
    assert items[0] == {"a": {"b": 1, "c": 2}}, "input items must not change"


async def test_renames_apply_in_order_and_overwrite() -> None:
    out = await _run(
        {"renames": [{"from_key": "a", "to_key": "b"}, {"from_key": "b", "to_key": "c"}]},
        [{"a": 1, "b": 2}],
    )
    assert out == [{"c": 1}]


async def test_null_values_are_renamed() -> None:
    out = await _run({"renames": [{"from_key": "a", "to_key": "b"}]}, [{"a": None}])
    assert out == [{"b": None}]


async def test_require_names_the_item_and_field() -> None:
    with pytest.raises(NodeError, match=r"data\.rename_keys: item 1 has no field 'a'"):
        await _run({"renames": [{"from_key": "a", "to_key": "b"}], "require": True}, [{"a": 1}, {}])


def test_bad_params_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a dotted path"):
        RenameKeys.Params.model_validate({"renames": [{"from_key": ".a", "to_key": "b"}]})
    with pytest.raises(ValidationError, match="at least 1 item"):
        RenameKeys.Params.model_validate({"renames": []})
