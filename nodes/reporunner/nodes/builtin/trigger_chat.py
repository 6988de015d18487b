"""``trigger.chat``: starts a workflow for each chat message (chat UI or ``POST /chat``)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.errors import NodeError

__all__ = ["ChatParams", "ChatTrigger"]


class ChatParams(BaseModel):
    """Params of ``trigger.chat``."""

    model_config = ConfigDict(extra="forbid")

    welcome_message: str | None = Field(
        default=None,
        max_length=2000,
        description="Text the chat UI shows before the user's first message (optional).",
    )


class ChatTrigger(Node[ChatParams]):
    """Entry point of conversational workflows; one execution per user message."""

    type = "trigger.chat"
    category = Category.TRIGGER
    display_name = "Chat message"
    description = (
        "Starts the workflow for each message a user sends in a chat thread. Outputs one item "
        "on 'main': {message: the user's text, thread_id: id of the conversation (use it as "
        "the memory key), user: the sender's id or null}."
    )
    Params = ChatParams
    inputs = ()
    outputs = (Port("main", "The message: {message, thread_id, user}."),)
    example: ClassVar[dict[str, Any]] = {"welcome_message": "Hi! Ask me about your orders."}

    async def run(self, ctx: NodeContext, params: ChatParams, inputs: NodeInputs) -> NodeOutput:
        trigger = ctx.trigger
        message = trigger.get("message")
        thread_id = trigger.get("thread_id")
        if not isinstance(message, str) or not isinstance(thread_id, str) or not thread_id:
            raise NodeError(
                "trigger.chat needs a trigger item with 'message' (text) and 'thread_id'; start "
                "chat workflows through the chat endpoint"
            )
        user = trigger.get("user")
        return NodeOutput.main([{"message": message, "thread_id": thread_id, "user": user}])
