"""``webhook.respond``: answer the HTTP request that started the execution."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.services import webhook_responder

__all__ = ["WebhookRespond", "WebhookRespondParams"]


class WebhookRespondParams(BaseModel):
    """Params of ``webhook.respond``."""

    model_config = ConfigDict(extra="forbid")

    respond_with: Literal["first_item", "all_items", "json", "text", "no_data"] = Field(
        default="first_item",
        description="Body of the answer: the first input item, all input items (a JSON "
        "array), the 'body' param as JSON, the 'text' param as text, or nothing.",
    )
    status: int = Field(default=200, ge=100, le=599, description="HTTP status code.")
    headers: dict[str, str] = Field(default_factory=dict, description="Response headers.")
    body: JsonValue = Field(default=None, description="JSON body when respond_with is 'json'.")
    text: str = Field(default="", description="Text body when respond_with is 'text'.")


class WebhookRespond(Node[WebhookRespondParams]):
    """Sends the webhook's HTTP answer once, then passes its items on."""

    type = "webhook.respond"
    category = Category.ACTION
    display_name = "Respond to webhook"
    description = (
        "Answers the HTTP request of the webhook trigger that started this execution (status, "
        "headers, and a body made of the first item, all items, a JSON value or text), then "
        "sends its input items on unchanged. Only one response per execution; the webhook "
        "trigger must be set to wait for this node."
    )
    Params = WebhookRespondParams
    inputs = (Port("main", "Items that may form the response body."),)
    outputs = (Port("main", "The input items, unchanged."),)
    example: ClassVar[Mapping[str, Any]] = {"respond_with": "json", "body": {"received": True}}

    async def run(
        self, ctx: NodeContext, params: WebhookRespondParams, inputs: NodeInputs
    ) -> NodeOutput:
        items = list(inputs.get("main", []))
        headers = dict(params.headers)
        body: Any
        if params.respond_with == "first_item":
            body = items[0] if items else {}
        elif params.respond_with == "all_items":
            body = items
        elif params.respond_with == "json":
            body = params.body
        elif params.respond_with == "text":
            body = params.text
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "text/plain; charset=utf-8"
        else:
            body = b""
        await webhook_responder(ctx).respond(params.status, headers, body)
        return NodeOutput.main(items)
