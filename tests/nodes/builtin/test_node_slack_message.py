"""``slack.message`` against a local stand-in for Slack's incoming-webhook endpoint."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from _action_peers import LocalHTTPServer, Reply, Seen, guarded_ctx
from pydantic import SecretStr

from reporunner.nodes.builtin.slack_message import SlackMessage
from reporunner.nodes.credentials import WebhookUrlCredential
from reporunner.nodes.errors import CredentialError, NodeError, SSRFBlockedError
from reporunner.nodes.testing import run_node

HOOK_PATH = "/services/T000/B000/SECRETxyzHOOKtoken"


def slack(seen: Seen) -> Reply:
    if seen.path != HOOK_PATH:
        return Reply(404, b"no_service", {"Content-Type": "text/plain"})
    payload = json.loads(seen.body)
    if "text" not in payload:
        return Reply(400, b"invalid_payload", {"Content-Type": "text/plain"})
    return Reply(200, b"ok", {"Content-Type": "text/plain"})


@pytest.fixture(scope="module")
def server() -> Iterator[LocalHTTPServer]:
    srv = LocalHTTPServer(slack)
    yield srv
    srv.close()


async def test_posts_text_blocks_and_thread_per_item(server: LocalHTTPServer) -> None:
    ctx = guarded_ctx(
        credentials={"webhook_url": WebhookUrlCredential(url=SecretStr(server.url + HOOK_PATH))}
    )
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    params = {"text": "hello", "blocks": blocks, "thread_ts": "123.456"}
    out = await run_node(SlackMessage, params, {"main": [{"n": 1}, {"n": 2}]}, ctx)
    assert out.ports["main"] == [{"ok": True, "status": 200, "response": "ok"}] * 2
    sent = json.loads(server.seen[-1].body)
    assert sent == {"text": "hello", "unfurl_links": True, "blocks": blocks, "thread_ts": "123.456"}
    assert server.seen[-1].headers["content-type"] == "application/json"


async def test_webhook_url_from_param(server: LocalHTTPServer) -> None:
    params = {"text": "via param", "webhook_url": server.url + HOOK_PATH}
    out = await run_node(SlackMessage, params, ctx=guarded_ctx())
    assert out.ports["main"][0]["ok"] is True
    with pytest.raises(CredentialError, match="bind a 'webhook_url' credential"):
        await run_node(SlackMessage, {"text": "nowhere"}, ctx=guarded_ctx())


async def test_error_names_host_but_never_the_webhook_token(
    server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad = server.url + HOOK_PATH.replace("B000", "B999")
    ctx = guarded_ctx(credentials={"webhook_url": WebhookUrlCredential(url=SecretStr(bad))})
    with pytest.raises(NodeError) as info:
        await run_node(SlackMessage, {"text": "x"}, ctx=ctx)
    assert "Slack webhook at http://127.0.0.1 answered 404: 'no_service'" in info.value.detail
    lines = [info.value.detail, *(r.getMessage() for r in caplog.records)]
    assert all("SECRETxyzHOOKtoken" not in line for line in lines)


async def test_private_webhook_target_is_refused() -> None:
    with pytest.raises(SSRFBlockedError, match="link-local"):
        await run_node(
            SlackMessage,
            {"text": "x", "webhook_url": "http://169.254.169.254/hook"},
            ctx=guarded_ctx(),
        )
