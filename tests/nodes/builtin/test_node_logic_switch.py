"""logic.switch: named routes from params, first/all matching, fallback."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.logic_switch import Switch
from reporunner.nodes.testing import run_node

TICKETS = [
    {"id": 1, "priority": 9, "subject": "Refund please"},
    {"id": 2, "priority": 2, "subject": "Invoice copy"},
    {"id": 3, "priority": 1, "subject": "Hello"},
]

PARAMS: dict[str, Any] = {
    "routes": [
        {"name": "urgent", "conditions": [{"field": "priority", "operator": "gte", "compare": 8}]},
        {
            "name": "billing",
            "conditions": [
                {
                    "field": "subject",
                    "operator": "regex",
                    "compare": "invoice|refund",
                    "case_sensitive": False,
                }
            ],
        },
    ]
}


def _ids(ports: dict[str, list[dict[str, Any]]]) -> dict[str, list[int]]:
    return {port: [i["id"] for i in items] for port, items in ports.items()}


async def test_first_match_with_fallback() -> None:
    out = await run_node(Switch, PARAMS, {"main": TICKETS})
    assert _ids(out.ports) == {"urgent": [1], "billing": [2], "fallback": [3]}


async def test_all_matches_and_no_fallback() -> None:
    params = {**PARAMS, "match": "all", "fallback": False}
    out = await run_node(Switch, params, {"main": TICKETS})
    assert _ids(out.ports) == {"urgent": [1], "billing": [1, 2]}


def test_output_ports_come_from_params() -> None:
    assert [p.name for p in Switch.output_ports(PARAMS)] == ["urgent", "billing", "fallback"]
    assert [p.name for p in Switch.output_ports({**PARAMS, "fallback": False})] == [
        "urgent",
        "billing",
    ]
    # Raw params may be half-written in an editor: bad routes are skipped, never a crash.
    assert [p.name for p in Switch.output_ports({"routes": [{"name": 3}, "x"]})] == ["fallback"]


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([{"name": "fallback", "conditions": [{"value": 1, "operator": "exists"}]}], "reserved"),
        (
            [
                {"name": "a", "conditions": [{"value": 1, "operator": "exists"}]},
                {"name": "a", "conditions": [{"value": 1, "operator": "exists"}]},
            ],
            "repeated: a",
        ),
        ([{"name": "Bad Name", "conditions": [{"value": 1, "operator": "exists"}]}], "pattern"),
    ],
)
def test_route_names_are_validated(routes: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Switch.Params.model_validate({"routes": routes})
