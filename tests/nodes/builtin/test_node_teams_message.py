"""``teams.message`` against a local stand-in for a Teams incoming webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from _action_peers import LocalHTTPServer, Reply, Seen, guarded_ctx

from reporunner.nodes.builtin.teams_message import TeamsMessage
from reporunner.nodes.testing import run_node


def teams(seen: Seen) -> Reply:
    return Reply(202, b"", {})


@pytest.fixture(scope="module")
def server() -> Iterator[LocalHTTPServer]:
    srv = LocalHTTPServer(teams)
    yield srv
    srv.close()


async def test_adaptive_card_from_title_and_text(server: LocalHTTPServer) -> None:
    params = {"webhook_url": f"{server.url}/workflows/abc", "title": "Build", "text": "failed"}
    out = await run_node(TeamsMessage, params, ctx=guarded_ctx())
    assert out.ports["main"] == [{"ok": True, "status": 202, "response": ""}]
    sent = json.loads(server.seen[-1].body)
    assert sent["type"] == "message"
    [attachment] = sent["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert [b["text"] for b in attachment["content"]["body"]] == ["Build", "failed"]


async def test_custom_card_and_legacy_message_card(server: LocalHTTPServer) -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "c"}]}
    params = {"webhook_url": f"{server.url}/w", "text": "ignored", "card": card}
    await run_node(TeamsMessage, params, ctx=guarded_ctx())
    assert json.loads(server.seen[-1].body)["attachments"][0]["content"] == card

    params = {"webhook_url": f"{server.url}/w", "text": "legacy", "format": "message_card"}
    await run_node(TeamsMessage, params, ctx=guarded_ctx())
    assert json.loads(server.seen[-1].body) == {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": "legacy",
        "text": "legacy",
    }
