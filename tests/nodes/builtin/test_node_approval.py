"""``human.approval`` interrupts with its question and routes on the resume payload."""

from __future__ import annotations

from typing import Any

import pytest

from reporunner.nodes.builtin.approval import Approval
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import NodeTestContext, run_node

ITEMS = [{"invoice": 7, "amount": 120}]


@pytest.mark.parametrize(
    ("resume", "port", "approved"),
    [
        ({"approved": True, "comment": "fine", "by": "ann"}, "approved", True),
        ({"approved": False}, "rejected", False),
        ({"decision": "Approve", "by": "bo"}, "approved", True),
        ({"decision": "reject"}, "rejected", False),
        (True, "approved", True),
        ("no", "rejected", False),
    ],
)
async def test_routes_on_the_answer(resume: Any, port: str, approved: bool) -> None:
    ctx = NodeTestContext(node_id="approve_refund", resume_value=resume)
    params = {"message": "Refund 120?", "title": "Refund"}
    out = await run_node(Approval, params, {"main": ITEMS}, ctx)
    assert list(out.ports) == [port]
    [item] = out.ports[port]
    assert item["invoice"] == 7
    assert item["approval"]["approved"] is approved
    assert ctx.interrupts == [
        {
            "kind": "approval",
            "node_id": "approve_refund",
            "title": "Refund",
            "message": "Refund 120?",
            "options": ["approve", "reject"],
            "items": ITEMS,
        }
    ]


async def test_items_can_be_withheld_and_result_field_renamed() -> None:
    ctx = NodeTestContext(resume_value={"approved": True, "comment": "ok", "by": "cy"})
    params = {"message": "Go?", "include_items": False, "result_field": "review"}
    out = await run_node(Approval, params, {"main": ITEMS}, ctx)
    assert "items" not in ctx.interrupts[0]
    assert out.ports["approved"][0]["review"] == {"approved": True, "comment": "ok", "by": "cy"}


@pytest.mark.parametrize("resume", [None, {"decision": "maybe"}, 3, {"comment": "hm"}])
async def test_unreadable_answer_says_what_to_send(resume: Any) -> None:
    ctx = NodeTestContext(resume_value=resume)
    with pytest.raises(NodeError) as info:
        await run_node(Approval, {"message": "Go?"}, {"main": ITEMS}, ctx)
    assert 'resume with {"approved": true|false' in info.value.detail
