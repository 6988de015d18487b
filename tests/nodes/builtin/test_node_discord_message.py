"""``discord.message`` against a local stand-in for a Discord webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from _action_peers import LocalHTTPServer, Reply, Seen, guarded_ctx
from pydantic import ValidationError

from reporunner.nodes.builtin.discord_message import DiscordMessage
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import run_node


def discord(seen: Seen) -> Reply:
    payload = json.loads(seen.body)
    if payload.get("content") == "rate me":
        return Reply(429, b'{"message": "You are being rate limited."}', {"Retry-After": "0"})
    message = {"id": "1", "content": payload.get("content"), "embeds": payload.get("embeds", [])}
    return Reply(200, json.dumps(message).encode(), {"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def server() -> Iterator[LocalHTTPServer]:
    srv = LocalHTTPServer(discord)
    yield srv
    srv.close()


async def test_posts_content_and_embeds_and_returns_the_message(server: LocalHTTPServer) -> None:
    params = {
        "webhook_url": f"{server.url}/api/webhooks/1/tok?thread_id=9",
        "content": "hello",
        "embeds": [{"title": "T", "description": "D"}],
        "username": "bot",
    }
    out = await run_node(DiscordMessage, params, ctx=guarded_ctx())
    [item] = out.ports["main"]
    assert item["status"] == 200
    assert item["response"]["content"] == "hello"
    seen = server.seen[-1]
    assert urlsplit(seen.path).query == "thread_id=9&wait=true"
    assert json.loads(seen.body) == {
        "content": "hello",
        "embeds": [{"title": "T", "description": "D"}],
        "username": "bot",
        "tts": False,
    }


def test_empty_message_and_overlong_content_are_invalid() -> None:
    with pytest.raises(ValidationError, match="set 'content' or 'embeds'"):
        DiscordMessage.Params.model_validate(
            {"webhook_url": "https://discord.com/api/webhooks/1/t"}
        )
    with pytest.raises(ValidationError, match="at most 2000"):
        DiscordMessage.Params.model_validate({"content": "x" * 2001})


async def test_rate_limit_is_retried_then_reported(server: LocalHTTPServer) -> None:
    before = len(server.seen)
    params = {"webhook_url": f"{server.url}/api/webhooks/1/tok", "content": "rate me", "retries": 1}
    with pytest.raises(NodeError, match="answered 429") as info:
        await run_node(DiscordMessage, params, ctx=guarded_ctx())
    assert info.value.retryable
    assert len(server.seen) == before + 2
