"""``discord.message``: post a message through a Discord webhook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, JsonValue, model_validator

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._chat_webhook import (
    WEBHOOK_CREDENTIAL,
    WebhookParams,
    post_webhook,
    resolve_webhook_url,
)

__all__ = ["DiscordMessage", "DiscordMessageParams"]


class DiscordMessageParams(WebhookParams):
    """Params of ``discord.message``."""

    content: str | None = Field(
        default=None, max_length=2000, description="Message text (Discord markdown, 2000 max)."
    )
    embeds: list[dict[str, JsonValue]] | None = Field(
        default=None, max_length=10, description="Up to 10 rich embeds (Discord embed objects)."
    )
    username: str | None = Field(default=None, description="Override the webhook's name.")
    avatar_url: str | None = Field(default=None, description="Override the webhook's avatar.")
    tts: bool = Field(default=False, description="Read the message aloud (text-to-speech).")

    @model_validator(mode="after")
    def _something_to_send(self) -> DiscordMessageParams:
        if not self.content and not self.embeds:
            raise ValueError("set 'content' or 'embeds': Discord refuses an empty message")
        return self


class DiscordMessage(Node[DiscordMessageParams]):
    """Posts one Discord message per input item."""

    type = "discord.message"
    category = Category.ACTION
    display_name = "Discord message"
    description = (
        "Posts a message (content and/or embeds, optional username/avatar) through a Discord "
        "webhook, once per input item; outputs {ok, status, response} where response is the "
        "created message. The webhook URL comes from a 'webhook_url' credential or the "
        "'webhook_url' param."
    )
    Params = DiscordMessageParams
    inputs = (Port("main", "Each item sends one message (params may use {{ item }})."),)
    outputs = (Port("main", "One {ok, status, response} item per message sent."),)
    credential_types = (WEBHOOK_CREDENTIAL,)
    mode = "each"
    example: ClassVar[Mapping[str, Any]] = {"content": "New signup: {{ item.email }}"}

    async def run(
        self, ctx: NodeContext, params: DiscordMessageParams, inputs: NodeInputs
    ) -> NodeOutput:
        url = resolve_webhook_url(ctx, params, "Discord")
        payload = params.model_dump(
            include={"content", "embeds", "username", "avatar_url", "tts"}, exclude_none=True
        )
        # wait=true makes Discord answer with the created message instead of an empty 204.
        item = await post_webhook(ctx, url, payload, params, "Discord", query={"wait": "true"})
        return NodeOutput.main([item])
