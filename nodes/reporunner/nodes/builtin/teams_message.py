"""``teams.message``: post a card through a Microsoft Teams incoming webhook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, JsonValue

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._chat_webhook import (
    WEBHOOK_CREDENTIAL,
    WebhookParams,
    post_webhook,
    resolve_webhook_url,
)

__all__ = ["TeamsMessage", "TeamsMessageParams"]

_ADAPTIVE = "application/vnd.microsoft.card.adaptive"


class TeamsMessageParams(WebhookParams):
    """Params of ``teams.message``."""

    text: str = Field(min_length=1, description="Message text (markdown subset).")
    title: str | None = Field(default=None, description="Bold title above the text.")
    format: Literal["adaptive_card", "message_card"] = Field(
        default="adaptive_card",
        description="'adaptive_card' for Teams Workflows webhooks (current), 'message_card' "
        "for legacy Office 365 connector webhooks.",
    )
    card: dict[str, JsonValue] | None = Field(
        default=None,
        description="A complete Adaptive Card to send instead of the one built from title and "
        "text (adaptive_card format only).",
    )


class TeamsMessage(Node[TeamsMessageParams]):
    """Posts one Teams message per input item."""

    type = "teams.message"
    category = Category.ACTION
    display_name = "Microsoft Teams message"
    description = (
        "Posts a message (title and text, or a full Adaptive Card) to a Microsoft Teams "
        "channel through an incoming webhook (Workflows or legacy connector), once per input "
        "item; outputs {ok, status, response}. The webhook URL comes from a 'webhook_url' "
        "credential or the 'webhook_url' param."
    )
    Params = TeamsMessageParams
    inputs = (Port("main", "Each item sends one message (params may use {{ item }})."),)
    outputs = (Port("main", "One {ok, status, response} item per message sent."),)
    credential_types = (WEBHOOK_CREDENTIAL,)
    mode = "each"
    example: ClassVar[Mapping[str, Any]] = {"title": "Build failed", "text": "{{ item.log }}"}

    async def run(
        self, ctx: NodeContext, params: TeamsMessageParams, inputs: NodeInputs
    ) -> NodeOutput:
        url = resolve_webhook_url(ctx, params, "Teams")
        item = await post_webhook(ctx, url, _payload(params), params, "Teams")
        return NodeOutput.main([item])


def _payload(params: TeamsMessageParams) -> dict[str, Any]:
    if params.format == "message_card":
        card: dict[str, Any] = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": params.title or params.text[:80],
            "text": params.text,
        }
        if params.title:
            card["title"] = params.title
        return card
    content: dict[str, Any] | None = params.card
    if content is None:
        body: list[dict[str, Any]] = []
        if params.title:
            body.append(
                {"type": "TextBlock", "text": params.title, "weight": "Bolder", "size": "Medium"}
            )
        body.append({"type": "TextBlock", "text": params.text, "wrap": True})
        content = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        }
    return {"type": "message", "attachments": [{"contentType": _ADAPTIVE, "content": content}]}
