"""logic.noop: passes items through unchanged."""

from __future__ import annotations

from typing import Any

from reporunner.nodes.builtin.logic_noop import NoOp
from reporunner.nodes.testing import run_node


async def test_items_pass_through_unchanged() -> None:
    items: list[dict[str, Any]] = [{"a": 1}, {"b": [1, 2]}]
    assert (await run_node(NoOp, {}, {"main": items})).ports == {"main": items}
    assert (await run_node(NoOp, {}, {})).ports == {"main": []}
