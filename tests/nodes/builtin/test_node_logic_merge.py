"""logic.merge: append, by_key (inner/left/outer), by_position; ports from params."""

from __future__ import annotations

from typing import Any

import pytest

from reporunner.nodes.builtin.logic_merge import Merge
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node

USERS = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "Cy"}]
ORDERS = [{"id": 2, "total": 5}, {"id": 1, "total": 9}, {"id": 4, "total": 1}, {"total": 0}]


async def test_append_keeps_input_order() -> None:
    out = await run_node(Merge, {"inputs": 3}, {"input_2": ORDERS[:1], "input_1": USERS[:1]})
    assert out.ports == {"main": [USERS[0], ORDERS[0]]}


@pytest.mark.parametrize(
    ("join", "expected"),
    [
        ("inner", [{"id": 1, "name": "Ada", "total": 9}, {"id": 2, "name": "Bob", "total": 5}]),
        (
            "left",
            [
                {"id": 1, "name": "Ada", "total": 9},
                {"id": 2, "name": "Bob", "total": 5},
                {"id": 3, "name": "Cy"},
            ],
        ),
        (
            "outer",
            [
                {"id": 1, "name": "Ada", "total": 9},
                {"id": 2, "name": "Bob", "total": 5},
                {"id": 3, "name": "Cy"},
                {"id": 4, "total": 1},
            ],
        ),
    ],
)
async def test_by_key_joins(join: str, expected: list[dict[str, object]]) -> None:
    params = {"mode": "by_key", "key": "id", "join": join}
    out = await run_node(Merge, params, {"input_1": USERS, "input_2": ORDERS})
    assert out.ports["main"] == expected


async def test_by_key_after_a_branch_uses_the_input_that_arrived() -> None:
    params = {"mode": "by_key", "key": "id", "join": "inner"}
    out = await run_node(Merge, params, {"input_1": USERS})
    assert out.ports["main"] == USERS


async def test_by_key_needs_a_key() -> None:
    with pytest.raises(NodeError, match="needs 'key'"):
        await run_node(Merge, {"mode": "by_key"}, {"input_1": USERS})


async def test_by_position_shortest_or_all() -> None:
    inputs: dict[str, list[dict[str, Any]]] = {"input_1": USERS, "input_2": [{"x": 1}, {"x": 2}]}
    out = await run_node(Merge, {"mode": "by_position"}, inputs)
    assert out.ports["main"] == [{"id": 1, "name": "Ada", "x": 1}, {"id": 2, "name": "Bob", "x": 2}]
    out = await run_node(Merge, {"mode": "by_position", "include_unpaired": True}, inputs)
    assert out.ports["main"][2] == {"id": 3, "name": "Cy"}


def test_input_ports_follow_params() -> None:
    assert [p.name for p in Merge.input_ports({"inputs": 4})] == [
        "input_1",
        "input_2",
        "input_3",
        "input_4",
    ]
    assert [p.name for p in Merge.input_ports({"inputs": "{{ oops }}"})] == ["input_1", "input_2"]
    assert len(Merge.input_ports({"inputs": 99})) == 10
