"""``webhook.respond`` answers once per execution, and a node that runs again (its execution
continued after a crashed worker, as the ``fast`` durability mode does) keeps the first answer
instead of failing the run."""

from __future__ import annotations

import uuid

import pytest

from reporunner.nodes.errors import ConflictError
from reporunner.platform.engine.context import NodeCallScope, enter_call, leave_call
from reporunner.platform.resources import open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.webhooks.responder import RedisWebhookResponder, read_response


async def _respond(responder: RedisWebhookResponder, node: str, body: object) -> None:
    token = enter_call(NodeCallScope(str(responder.execution_id), node, 1, 0))
    try:
        await responder.respond(200, {}, body)
    finally:
        leave_call(token)


async def test_the_same_node_again_keeps_the_first_answer_another_node_conflicts(
    settings: Settings,
) -> None:
    resources = await open_resources(settings)
    try:
        responder = RedisWebhookResponder(resources, uuid.uuid4(), trigger_type="webhook")
        await _respond(responder, "answer", {"n": 1})
        await _respond(responder, "answer", {"n": 2})  # re-run after a crash: no error
        stored = await read_response(resources.redis, str(responder.execution_id))
        assert stored is not None
        assert stored.body == b'{"n": 1}'
        with pytest.raises(ConflictError):
            await _respond(responder, "other", {"n": 3})
    finally:
        await resources.close()
