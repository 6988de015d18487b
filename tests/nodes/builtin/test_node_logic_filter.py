"""logic.filter: keeps matching items, the rest go to 'discarded'."""

from __future__ import annotations

from reporunner.nodes.builtin.logic_filter import Filter
from reporunner.nodes.testing import run_node

ITEMS = [{"sku": "a", "qty": 0}, {"sku": "b", "qty": 3}, {"sku": "c", "qty": 12}]


async def test_keeps_matching_items_in_order() -> None:
    out = await run_node(
        Filter, {"conditions": [{"field": "qty", "operator": "gt", "compare": 0}]}, {"main": ITEMS}
    )
    assert out.ports == {"main": ITEMS[1:], "discarded": ITEMS[:1]}


async def test_or_combinator_and_nothing_kept() -> None:
    params = {
        "conditions": [
            {"field": "sku", "operator": "equals", "compare": "z"},
            {"field": "qty", "operator": "gt", "compare": 100},
        ],
        "combinator": "or",
    }
    out = await run_node(Filter, params, {"main": ITEMS})
    assert "main" not in out.ports
    assert out.ports["discarded"] == ITEMS
