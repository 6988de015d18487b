"""Tests of ``data.limit``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_limit import Limit
from reporunner.nodes.testing import run_node

ITEMS = [{"n": n} for n in range(5)]


async def _ns(max_items: int, keep: str = "first") -> list[int]:
    out = await run_node(Limit, {"max_items": max_items, "keep": keep}, {"main": ITEMS})
    return [item["n"] for item in out.ports["main"]]


async def test_example_validates_and_runs() -> None:
    out = await run_node(Limit, dict(Limit.example), {"main": ITEMS * 3})
    assert len(out.ports["main"]) == 10


@pytest.mark.parametrize(
    ("max_items", "keep", "expected"),
    [
        (2, "first", [0, 1]),
        (2, "last", [3, 4]),
        (0, "first", []),
        (0, "last", []),
        (9, "first", [0, 1, 2, 3, 4]),
        (9, "last", [0, 1, 2, 3, 4]),
    ],
)
async def test_first_and_last(max_items: int, keep: str, expected: list[int]) -> None:
    assert await _ns(max_items, keep) == expected


def test_negative_is_refused() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        Limit.Params.model_validate({"max_items": -1})
