"""trigger.chat: outputs {message, thread_id, user} from the trigger item."""

from __future__ import annotations

import pytest

from reporunner.nodes.builtin.trigger_chat import ChatTrigger
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import NodeTestContext, run_node


async def test_outputs_message_thread_and_user() -> None:
    trigger = {"message": "Where is my order?", "thread_id": "t-1", "user": "u-9", "extra": 1}
    out = await run_node(ChatTrigger, {}, {}, NodeTestContext(trigger=trigger))
    assert out.ports == {
        "main": [{"message": "Where is my order?", "thread_id": "t-1", "user": "u-9"}]
    }


async def test_anonymous_user_is_null() -> None:
    ctx = NodeTestContext(trigger={"message": "hi", "thread_id": "t-2"})
    out = await run_node(ChatTrigger, {}, {}, ctx)
    assert out.ports["main"][0]["user"] is None


async def test_trigger_without_a_message_says_how_to_start_it() -> None:
    with pytest.raises(NodeError, match="through the chat endpoint"):
        await run_node(ChatTrigger, {}, {}, NodeTestContext(trigger={"thread_id": "t"}))
