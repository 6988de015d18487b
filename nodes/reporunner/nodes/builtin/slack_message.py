"""``slack.message``: post a message through a Slack incoming webhook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, JsonValue

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._chat_webhook import (
    WEBHOOK_CREDENTIAL,
    WebhookParams,
    post_webhook,
    resolve_webhook_url,
)

__all__ = ["SlackMessage", "SlackMessageParams"]


class SlackMessageParams(WebhookParams):
    """Params of ``slack.message``."""

    text: str = Field(
        min_length=1,
        max_length=40000,
        description="Message text (Slack mrkdwn); also the notification fallback for blocks.",
    )
    blocks: list[dict[str, JsonValue]] | None = Field(
        default=None, description="Block Kit blocks for a rich layout (optional)."
    )
    thread_ts: str | None = Field(
        default=None, description="Timestamp of a parent message to reply in its thread."
    )
    unfurl_links: bool = Field(default=True, description="Let Slack expand link previews.")


class SlackMessage(Node[SlackMessageParams]):
    """Posts one Slack message per input item."""

    type = "slack.message"
    category = Category.ACTION
    display_name = "Slack message"
    description = (
        "Posts a message (text, optional Block Kit blocks, optional thread) to the channel of "
        "a Slack incoming webhook, once per input item; outputs {ok, status, response}. The "
        "webhook URL comes from a 'webhook_url' credential or the 'webhook_url' param."
    )
    Params = SlackMessageParams
    inputs = (Port("main", "Each item sends one message (params may use {{ item }})."),)
    outputs = (Port("main", "One {ok, status, response} item per message sent."),)
    credential_types = (WEBHOOK_CREDENTIAL,)
    mode = "each"
    example: ClassVar[Mapping[str, Any]] = {"text": "Deploy finished: {{ item.version }}"}

    async def run(
        self, ctx: NodeContext, params: SlackMessageParams, inputs: NodeInputs
    ) -> NodeOutput:
        url = resolve_webhook_url(ctx, params, "Slack")
        payload: dict[str, Any] = {"text": params.text, "unfurl_links": params.unfurl_links}
        if params.blocks:
            payload["blocks"] = params.blocks
        if params.thread_ts:
            payload["thread_ts"] = params.thread_ts
        return NodeOutput.main([await post_webhook(ctx, url, payload, params, "Slack")])
