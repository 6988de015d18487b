"""``/executions``: list, get (with node runs), cancel, retry, resume, and live events (SSE)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.api.sse import closing_event_stream
from reporunner.platform.auth import Principal, requires
from reporunner.platform.executions import (
    ExecutionOut,
    ExecutionPage,
    ResumeRequest,
    cancel_execution,
    execution_now,
    follow,
    get_execution,
    list_executions,
    resume_execution,
    retry_execution,
)
from reporunner.platform.executions.service import TERMINAL
from reporunner.platform.resources import Resources

__all__ = ["ExecutionController", "route_handlers"]


async def _event_stream(
    resources: Resources, workspace_id: uuid.UUID, execution_id: uuid.UUID, after: str
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """Replay, then follow, until the execution ends (terminal ``execution.finished``)."""
    key = str(execution_id)
    async with contextlib.aclosing(follow(resources.redis, key, after)) as events:
        async for event in events:
            if event is None:
                row = await execution_now(resources, workspace_id, execution_id)
                if row.status in TERMINAL:  # its events expired: say how it ended and stop
                    data = {"execution_id": key, "status": row.status, "error": row.error}
                    yield ServerSentEventMessage(data=_json(data), event="execution.finished")
                    return
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            yield ServerSentEventMessage(data=_json(event.data), event=event.event, id=event.id)
            if event.event == "execution.finished" and event.data.get("status") in TERMINAL:
                return


def _json(data: Any) -> str:
    return json.dumps(data, default=str, separators=(",", ":"))


class ExecutionController(Controller):
    path = "/executions"
    tags = ["executions"]  # noqa: RUF012

    @get("/", summary="List executions (newest first, cursor pagination)")
    async def list_(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        workflow_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[list[str] | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> ExecutionPage:
        """Filter by ``workflow_id``, ``status`` (repeatable) and creation time
        (``since`` inclusive, ``until`` exclusive); pass ``next_cursor`` as ``cursor``."""
        return await list_executions(
            transaction,
            principal.workspace_id,
            workflow_id=workflow_id,
            statuses=status,
            since=since,
            until=until,
            cursor=cursor,
            limit=max(1, min(limit, 200)),
        )

    @get("/{execution_id:uuid}", summary="Get an execution with its node runs")
    async def get_one(
        self,
        execution_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> ExecutionOut:
        return await get_execution(transaction, principal.workspace_id, execution_id)

    @post(
        "/{execution_id:uuid}/cancel",
        guards=[requires("editor")],
        status_code=HTTP_200_OK,
        summary="Cancel an execution",
    )
    async def cancel(
        self,
        execution_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> ExecutionOut:
        """Queued and waiting executions end at once; a running one stops at its next node."""
        return await cancel_execution(resources, principal.workspace_id, execution_id)

    @post(
        "/{execution_id:uuid}/retry",
        guards=[requires("editor")],
        summary="Run the same version again with the same input",
    )
    async def retry(
        self,
        execution_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> ExecutionOut:
        return await retry_execution(resources, principal.workspace_id, execution_id)

    @post(
        "/{execution_id:uuid}/resume",
        guards=[requires("editor")],
        status_code=HTTP_200_OK,
        summary="Answer a waiting execution and continue it",
    )
    async def resume(
        self,
        execution_id: FromPath[uuid.UUID],
        data: JSONBody[ResumeRequest],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> ExecutionOut:
        return await resume_execution(resources, principal.workspace_id, execution_id, data.payload)

    @get("/{execution_id:uuid}/events", summary="Events as Server-Sent Events")
    async def events(
        self,
        request: Request[Any, Any, Any],
        execution_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
    ) -> ServerSentEvent:
        """Replays what already happened, then follows live until the execution ends.
        ``Last-Event-ID`` resumes after that event."""
        await execution_now(resources, principal.workspace_id, execution_id)  # 404 before streaming
        after = request.headers.get("last-event-id") or "0"
        return closing_event_stream(
            _event_stream(resources, principal.workspace_id, execution_id, after)
        )


route_handlers = [ExecutionController]
