"""``/widgets`` (admins manage embeddable chat widgets) and ``/public/widgets/{public_id}``
(what the embedded ``/widget.js`` calls from a visitor's browser).

The public routes are unauthenticated and answer only pages whose ``Origin`` is exactly one of
the widget's allowed origins (403 without any CORS header otherwise, so the browser shows the
page nothing). They are CORS *simple requests* (GET, or POST with a ``text/plain`` JSON body
carrying the visitor token), so no preflight is needed and the token stays out of URLs and
logs: that is why reading the history is a POST. Per-visitor message limits and per-address
visitor limits answer 429 with ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import html
import json
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import ServerSentEventMessage
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ReporunnerError
from reporunner.platform.api.clients import client_address
from reporunner.platform.api.errors import problem
from reporunner.platform.api.limits import hit
from reporunner.platform.api.sse import closing_event_stream
from reporunner.platform.auth import PUBLIC_OPT, Principal, requires
from reporunner.platform.chats import Turn, run_turn
from reporunner.platform.db.models import ChatWidget
from reporunner.platform.resources import Resources
from reporunner.platform.widgets import (
    VisitorHistory,
    VisitorMessageIn,
    VisitorOut,
    WidgetConfig,
    WidgetCreate,
    WidgetOut,
    WidgetPage,
    WidgetUpdate,
    create_widget,
    delete_widget,
    get_widget,
    list_widgets,
    new_visitor_thread,
    origin_allowed,
    public_config,
    public_widget,
    sign_visitor,
    start_visitor_turn,
    update_widget,
    verify_visitor,
    visitor_history,
)

__all__ = ["PublicWidgetController", "WidgetController", "route_handlers"]

_VISITOR_EVENTS = ("token", "final", "error")


def _base(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/")


class WidgetController(Controller):
    path = "/widgets"
    tags = ["widgets"]  # noqa: RUF012
    guards = [requires("admin")]  # noqa: RUF012

    @post("/", summary="Create an embeddable chat widget for a published chat workflow")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[WidgetCreate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> WidgetOut:
        """201 with the widget and its snippet; 422 when the workflow is not a published chat
        workflow or an origin is not exact."""
        return await create_widget(transaction, principal, data, _base(request))

    @get("/", summary="List the workspace's chat widgets")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> WidgetPage:
        return await list_widgets(transaction, principal.workspace_id, _base(request))

    @get("/{widget_id:uuid}", summary="Get a chat widget")
    async def get_one(
        self,
        request: Request[Any, Any, Any],
        widget_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> WidgetOut:
        return await get_widget(transaction, principal.workspace_id, widget_id, _base(request))

    @patch("/{widget_id:uuid}", summary="Change a chat widget")
    async def update(
        self,
        request: Request[Any, Any, Any],
        widget_id: FromPath[uuid.UUID],
        data: JSONBody[WidgetUpdate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> WidgetOut:
        return await update_widget(transaction, principal, widget_id, data, _base(request))

    @delete("/{widget_id:uuid}", summary="Delete a chat widget (its public id stops working)")
    async def remove(
        self,
        widget_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> None:
        await delete_widget(transaction, principal, widget_id)


# -- public ---------------------------------------------------------------------------------


class _BadBody(ReporunnerError):
    """A public body that is not the JSON object the route expects."""

    code = "invalid_request"
    status = 400


class _Limited(ReporunnerError):
    """A visitor or client address over its widget's limit."""

    code = "rate_limited"
    status = 429


class _Refused(Exception):
    """The request's Origin is not allowed: answered without CORS headers."""


def _cors(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def _widget(
    resources: Resources, public_id: str, origin: str | None, same_origin: bool = False
) -> ChatWidget:
    """The widget, if the request's Origin is one of its allowed origins (or the request comes
    from the widget's own frame page, served from this origin)."""
    row = await public_widget(resources, public_id)
    if not same_origin and not origin_allowed(origin, list(row.allowed_origins)):
        raise _Refused
    return row


def _same_origin(request: Request[Any, Any, Any]) -> bool:
    """The browser says the caller is a page of this origin (the frame page): pages cannot set
    ``Sec-Fetch-Site`` themselves."""
    return request.headers.get("sec-fetch-site") == "same-origin"


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _BadBody("the body must be a JSON object (sent as text/plain or application/json)")
    return data


async def _limit(resources: Resources, bucket: str, limit: int, who: str) -> None:
    decision = await hit(resources.redis, bucket, limit)
    if not decision.allowed:
        raise _Limited(
            f"{who} made more than {limit} requests this minute; retry after "
            f"{decision.retry_after}s",
            retry_after=decision.retry_after,
        )


async def _public(
    request: Request[Any, Any, Any],
    resources: Resources,
    public_id: str,
    answer: Callable[[ChatWidget, dict[str, str]], Awaitable[Response[Any]]],
) -> Response[Any]:
    """Origin check, then ``answer``; our errors become problem+json the page may read."""
    origin = request.headers.get("origin")
    same_origin = _same_origin(request)
    try:
        widget = await _widget(resources, public_id, origin, same_origin)
    except _Refused:
        return problem(
            403, "origin_not_allowed",
            "this page's origin may not use this widget; an admin adds it to the widget's "
            "allowed origins",
            request=request, headers={"Vary": "Origin"},
        )  # fmt: skip
    except ReporunnerError as err:
        return problem(err.status, err.code, err.detail, request=request)
    cors = {} if same_origin or not origin else _cors(origin)
    try:
        return await answer(widget, cors)
    except ReporunnerError as err:
        retry = err.extra.get("retry_after")
        headers = {**cors, **({"Retry-After": str(retry)} if isinstance(retry, int) else {})}
        return problem(err.status, err.code, err.detail, request=request, headers=headers)


def _visitor_token(data: dict[str, Any]) -> str:
    token = data.get("token")
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise _BadBody("token: send the visitor token of POST .../visitors")
    return token


async def _visitor_events(
    resources: Resources, turn: Turn
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """Only what a visitor needs: tokens, the stored answer, and a plain error."""
    async with contextlib.aclosing(run_turn(resources, turn)) as events:
        async for event, data in events:
            if event not in _VISITOR_EVENTS:
                continue
            if event == "final":
                message = data.get("message") or {}
                data = {
                    "message": {k: message.get(k) for k in ("id", "role", "content", "created_at")}
                }
            elif event == "error":
                data = {"code": "chat_failed", "detail": "the assistant could not answer; retry"}
            else:
                data = {"text": data.get("text", "")}
            yield ServerSentEventMessage(
                data=json.dumps(data, default=str, separators=(",", ":")), event=event
            )


def frame_policy(row: ChatWidget) -> str:
    """The frame page's CSP: our script and API only, framed by the allowed origins only."""
    ancestors = " ".join(row.allowed_origins) or "'none'"
    return (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
        f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'"
    )


def frame_page(row: ChatWidget) -> str:
    """The widget's script, told to fill the frame with its panel."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(row.name)}</title></head><body>"
        f'<script src="/widget.js" data-chat="{html.escape(row.public_id)}" data-frame="open" '
        "defer></script></body></html>"
    )


class PublicWidgetController(Controller):
    path = "/public/widgets/{public_id:str}"
    tags = ["widgets (public)"]  # noqa: RUF012
    opt = {PUBLIC_OPT: True}  # noqa: RUF012

    @get("/config", summary="The widget's name, greeting and colours (allowed origins only)")
    async def config(
        self,
        request: Request[Any, Any, Any],
        public_id: FromPath[str],
        resources: NamedDependency[Resources],
    ) -> Response[Any]:
        async def answer(widget: ChatWidget, cors: dict[str, str]) -> Response[WidgetConfig]:
            return Response(public_config(widget), headers=cors)

        return await _public(request, resources, public_id, answer)

    @get("/frame", summary="The widget as a page for an iframe (framed by allowed origins only)")
    async def frame(
        self,
        request: Request[Any, Any, Any],
        public_id: FromPath[str],
        resources: NamedDependency[Resources],
    ) -> Response[Any]:
        """For sites that prefer an iframe to the script tag. Browsers show the page only inside
        a frame of an allowed origin (``frame-ancestors``); a top-level visit gets a 403."""
        try:
            row = await public_widget(resources, public_id)
        except ReporunnerError as err:
            return problem(err.status, err.code, err.detail, request=request)
        if request.headers.get("sec-fetch-dest") != "iframe":
            return problem(
                403, "frame_only",
                "this page is shown inside an iframe of one of the widget's allowed origins",
                request=request,
            )  # fmt: skip
        return Response(
            frame_page(row),
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": frame_policy(row), "Cache-Control": "no-store"},
        )

    @post("/visitors", status_code=201, summary="Start an anonymous visitor (a signed token)")
    async def visitors(
        self,
        request: Request[Any, Any, Any],
        public_id: FromPath[str],
        resources: NamedDependency[Resources],
    ) -> Response[Any]:
        async def answer(widget: ChatWidget, cors: dict[str, str]) -> Response[VisitorOut]:
            address = client_address(request.scope, resources.settings.trusted_proxies)
            await _limit(
                resources, f"widget-new:{widget.id}:{address}", widget.visitors_per_minute,
                "this client address",
            )  # fmt: skip
            thread_id = await new_visitor_thread(resources, widget)
            token, expires = sign_visitor(resources.keyring.current.key, widget.id, thread_id)
            out = VisitorOut(token=token, expires_at=datetime.fromtimestamp(expires, UTC))
            return Response(out, status_code=201, headers=cors)

        return await _public(request, resources, public_id, answer)

    @post("/history", status_code=200, summary="The visitor's own messages (token in the body)")
    async def history(
        self,
        request: Request[Any, Any, Any],
        public_id: FromPath[str],
        resources: NamedDependency[Resources],
    ) -> Response[Any]:
        async def answer(widget: ChatWidget, cors: dict[str, str]) -> Response[VisitorHistory]:
            token = _visitor_token(await _body(request))
            visitor = verify_visitor(resources.keyring.current.key, token, widget.id)
            items = await visitor_history(resources, widget, visitor)
            return Response(items, headers=cors)

        return await _public(request, resources, public_id, answer)

    @post(
        "/messages",
        status_code=200,
        summary="Send the visitor's message; the answer streams as Server-Sent Events",
    )
    async def messages(
        self,
        request: Request[Any, Any, Any],
        public_id: FromPath[str],
        resources: NamedDependency[Resources],
    ) -> Response[Any]:
        async def answer(widget: ChatWidget, cors: dict[str, str]) -> Response[Any]:
            data = await _body(request)
            visitor = verify_visitor(resources.keyring.current.key, _visitor_token(data), widget.id)
            await _limit(
                resources, f"widget-msg:{widget.id}:{visitor.thread_id}",
                widget.messages_per_minute, "this visitor",
            )  # fmt: skip
            try:
                message = VisitorMessageIn.model_validate(data)
            except ValidationError as err:
                first = err.errors()[0]
                field = "/".join(str(p) for p in first["loc"]) or "body"
                raise _BadBody(f"{field}: {first['msg']}") from None
            turn = await start_visitor_turn(resources, public_id, visitor, message.content)
            response = closing_event_stream(_visitor_events(resources, turn))
            response.headers.update(cors)
            return response

        return await _public(request, resources, public_id, answer)


route_handlers: list[Any] = [WidgetController, PublicWidgetController]
