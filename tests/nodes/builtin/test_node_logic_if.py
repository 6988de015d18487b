"""logic.if: per-item routing to true/false on rendered conditions."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.base import Item
from reporunner.nodes.builtin.logic_if import If
from reporunner.nodes.expressions import render
from reporunner.nodes.testing import run_node

ORDERS = [
    {"id": 1, "total": 250, "customer": {"email": "a@example.com"}},
    {"id": 2, "total": 40, "customer": {"email": "b@example.com"}},
    {"id": 3, "total": 900, "customer": {}},
]


async def _run_each(raw: dict[str, Any], items: list[Item]) -> dict[str, list[int]]:
    """Render params per item and run, as the engine does for mode='each' nodes."""
    routed: dict[str, list[int]] = {}
    for item in items:
        params = render(raw, {"item": item, "nodes": {}, "trigger": {}, "vars": {}})
        out = await run_node(If, params, {"main": [item]})
        for port, port_items in out.ports.items():
            routed.setdefault(port, []).extend(i["id"] for i in port_items)
    return routed


async def test_rendered_conditions_route_each_item() -> None:
    raw = {
        "conditions": [
            {"value": "{{ item.total }}", "operator": "gt", "compare": 100},
            {"field": "customer.email", "operator": "exists"},
        ]
    }
    assert await _run_each(raw, ORDERS) == {"true": [1], "false": [2, 3]}
    assert await _run_each({**raw, "combinator": "or"}, ORDERS) == {"true": [1, 2, 3]}


async def test_items_pass_unchanged_and_empty_ports_are_absent() -> None:
    out = await run_node(
        If,
        {"conditions": [{"field": "total", "operator": "gte", "compare": 0}]},
        {"main": ORDERS},
    )
    assert out.ports == {"true": ORDERS}


async def test_no_input_sends_nothing() -> None:
    out = await run_node(If, If.example, {})
    assert out.ports == {}


def test_params_need_a_condition() -> None:
    with pytest.raises(ValidationError):
        If.Params.model_validate({"conditions": []})
    with pytest.raises(ValidationError, match="operator"):
        If.Params.model_validate({"conditions": [{"value": 1, "operator": "bigger"}]})
