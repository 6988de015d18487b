"""``/chats``: threads bound to an agent or a chat workflow; a message streams its answer (SSE).

``POST /chats/{id}/messages`` answers with Server-Sent Events in order: ``message`` (the stored
user message), ``token`` (answer text as it is written), ``tool_call`` / ``tool_result`` (each
tool step, knowledge citations included), ``usage``, ``citations`` (when knowledge was used) and
``final`` (the stored answer with tokens and cost); ``error`` (code, detail) if the turn failed
after streaming began. Unknown chats are 404 and a missing model is 503 before any byte streams.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.api.sse import closing_event_stream
from reporunner.platform.auth import Principal, requires
from reporunner.platform.chats import (
    ChatCreate,
    ChatOut,
    ChatPage,
    MessageIn,
    MessagePage,
    Turn,
    create_chat,
    get_chat,
    list_chats,
    list_messages,
    run_turn,
    start_turn,
)
from reporunner.platform.resources import Resources

__all__ = ["ChatController", "route_handlers"]


async def _sse(resources: Resources, turn: Turn) -> AsyncGenerator[ServerSentEventMessage, None]:
    async with contextlib.aclosing(run_turn(resources, turn)) as events:
        async for event, data in events:
            yield ServerSentEventMessage(
                data=json.dumps(data, default=str, separators=(",", ":")), event=event
            )


class ChatController(Controller):
    path = "/chats"
    tags = ["chats"]  # noqa: RUF012

    @post("/", guards=[requires("editor")], summary="Start a chat with an agent or workflow")
    async def create(
        self,
        data: JSONBody[ChatCreate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> ChatOut:
        """201 with the thread; 404 for another workspace's workflow; 422 when the workflow
        has no Chat trigger."""
        return await create_chat(transaction, principal.workspace_id, principal.user_id, data)

    @get("/", summary="List chat threads (most recently active first)")
    async def list_(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> ChatPage:
        """Agent and workflow chats of the workspace; copilot threads are listed under their
        workflow (``/workflows/{id}/copilot/threads``)."""
        return await list_chats(
            transaction,
            principal.workspace_id,
            limit=max(1, min(limit, 200)),
            offset=max(0, offset),
        )

    @get("/{chat_id:uuid}", summary="Get a chat thread")
    async def get_one(
        self,
        chat_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> ChatOut:
        return await get_chat(transaction, principal.workspace_id, chat_id)

    @get("/{chat_id:uuid}/messages", summary="A chat's messages, oldest first")
    async def messages(
        self,
        chat_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> MessagePage:
        return await list_messages(transaction, principal.workspace_id, chat_id)

    @post(
        "/{chat_id:uuid}/messages",
        guards=[requires("editor")],
        status_code=200,
        summary="Send a message; the answer streams as Server-Sent Events",
    )
    async def send(
        self,
        chat_id: FromPath[uuid.UUID],
        data: JSONBody[MessageIn],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> ServerSentEvent:
        turn = await start_turn(resources, principal.workspace_id, chat_id, data)
        return closing_event_stream(_sse(resources, turn))


route_handlers: list[Any] = [ChatController]
