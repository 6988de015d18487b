"""``/chats``: threads bound to an agent or a chat workflow; a message streams its answer (SSE).

``POST /chats/{id}/messages`` answers with Server-Sent Events in order: ``message`` (the stored
user message), ``token`` (answer text as it is written), ``tool_call`` / ``tool_result`` (each
tool step, knowledge citations included), ``usage``, ``citations`` (when knowledge was used) and
``final`` (the stored answer with tokens and cost); ``error`` (code, detail) if the turn failed
after streaming began. Unknown chats are 404 and a missing model is 503 before any byte streams.

A worker writes the answer; every event carries an ``id``, the ``message`` event the
``turn_id``. A client cut off mid-answer (its connection, or the API process, went away)
reconnects to ``GET /chats/{id}/turns/{turn_id}/events`` on any API process, with
``Last-Event-ID``, and gets the rest: the turn goes on without it.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import Problem, ValidationFailed
from reporunner.platform.api.sse import closing_event_stream
from reporunner.platform.auth import Principal, requires
from reporunner.platform.chats import (
    ChatCreate,
    ChatOut,
    ChatPage,
    MessageIn,
    MessagePage,
    check_turn,
    create_chat,
    get_chat,
    list_chats,
    list_messages,
    start_turn,
    turn_events,
)
from reporunner.platform.resources import Resources

__all__ = ["ChatController", "route_handlers"]

_EVENT_ID = re.compile(r"\d{1,20}(-\d{1,20})?")


async def _sse(
    resources: Resources, turn_id: uuid.UUID, after: str = "0"
) -> AsyncGenerator[ServerSentEventMessage, None]:
    async with contextlib.aclosing(turn_events(resources, turn_id, after)) as events:
        async for event in events:
            if event is None:  # no keep-alive: chat clients read every block as JSON data
                continue
            yield ServerSentEventMessage(
                data=json.dumps(event.data, default=str, separators=(",", ":")),
                event=event.event,
                id=event.id or None,
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
        return closing_event_stream(_sse(resources, turn.turn_id))

    @get(
        "/{chat_id:uuid}/turns/{turn_id:uuid}/events",
        summary="Follow a turn's answer again (Server-Sent Events; Last-Event-ID resumes)",
    )
    async def turn_events(
        self,
        request: Request[Any, Any, Any],
        chat_id: FromPath[uuid.UUID],
        turn_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> ServerSentEvent:
        """The turn's events from the start, or after ``Last-Event-ID``, live until its
        ``final`` or ``error``; 404 for a turn that is not one of this chat's in this
        workspace."""
        await check_turn(resources, principal.workspace_id, chat_id, turn_id)
        after = request.headers.get("last-event-id") or "0"
        if not _EVENT_ID.fullmatch(after):
            raise ValidationFailed(
                "Last-Event-ID: send the id of the last event you received (like "
                "'1765000000000-0'), or no header to start from the first event",
                [Problem("/headers/last-event-id", "invalid_event_id", "not an event id")],
            )
        return closing_event_stream(_sse(resources, turn_id, after))


route_handlers: list[Any] = [ChatController]
