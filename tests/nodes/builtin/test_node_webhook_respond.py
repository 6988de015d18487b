"""``webhook.respond`` calls the engine's ``webhook_response`` service once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from reporunner.nodes.builtin.webhook_respond import WebhookRespond
from reporunner.nodes.errors import ConflictError, NodeError
from reporunner.nodes.services import WebhookResponder
from reporunner.nodes.testing import NodeTestContext, run_node


class Responder:
    """Records the answer; a second answer is a conflict, as in the engine."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, dict[str, str], Any]] = []

    async def respond(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        if self.sent:
            raise ConflictError("this webhook was already answered")
        self.sent.append((status, dict(headers), body))


ITEMS = [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (200, {}, {"id": 1})),
        ({"respond_with": "all_items", "status": 201}, (201, {}, ITEMS)),
        (
            {"respond_with": "json", "body": {"ok": True}, "headers": {"X-Trace": "t"}},
            (200, {"X-Trace": "t"}, {"ok": True}),
        ),
        (
            {"respond_with": "text", "text": "thanks"},
            (200, {"Content-Type": "text/plain; charset=utf-8"}, "thanks"),
        ),
        ({"respond_with": "no_data", "status": 204}, (204, {}, b"")),
    ],
)
async def test_responds_and_passes_items_on(
    params: dict[str, Any], expected: tuple[int, dict[str, str], Any]
) -> None:
    responder = Responder()
    assert isinstance(responder, WebhookResponder)
    ctx = NodeTestContext(services={"webhook_response": responder})
    out = await run_node(WebhookRespond, params, {"main": ITEMS}, ctx)
    assert responder.sent == [expected]
    assert out.ports["main"] == ITEMS


async def test_second_response_conflicts_and_missing_service_is_explained() -> None:
    ctx = NodeTestContext(services={"webhook_response": Responder()})
    await run_node(WebhookRespond, {}, {"main": ITEMS}, ctx)
    with pytest.raises(ConflictError, match="already answered"):
        await run_node(WebhookRespond, {}, {"main": ITEMS}, ctx)
    with pytest.raises(NodeError, match="no service 'webhook_response'"):
        await run_node(WebhookRespond, {}, {"main": ITEMS}, NodeTestContext())
    wrong = NodeTestContext(services={"webhook_response": object()})
    with pytest.raises(NodeError, match="does not implement WebhookResponder"):
        await run_node(WebhookRespond, {}, {"main": ITEMS}, wrong)
