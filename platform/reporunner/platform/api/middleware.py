"""The API's edge: request ids, per-key (and per-session) rate limits, metrics, secure headers,
CORS, body limits.

:class:`EdgeMiddleware` wraps every routed request (outside the API-key middleware, so that a
flood of requests with one key is refused before it costs a database lookup).
:func:`secure_headers` runs as a ``before_send`` hook, so that even the router's own 404/405
answers carry the headers. :func:`edge_options` gathers the ``Litestar(...)`` arguments.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from typing import Any, cast

from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, StatusCode, get_current_span

from reporunner.nodes import tracing
from reporunner.platform.api.clients import anon_bucket, authfail_bucket, client_address
from reporunner.platform.api.docs import DOCS_CSP
from reporunner.platform.api.errors import PROBLEM_JSON, TYPE_BASE
from reporunner.platform.api.limits import api_key_bucket, hit, peek
from reporunner.platform.api.metrics import HTTP
from reporunner.platform.api.web import is_app_file
from reporunner.platform.auth.requests import trusted_proxies_of
from reporunner.platform.auth.sessions import SESSION_COOKIE
from reporunner.platform.logs import client_address_var, request_id_var
from reporunner.platform.settings import Settings

__all__ = ["REQUEST_ID_HEADER", "EdgeMiddleware", "edge_options", "secure_headers"]

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_UNLIMITED = ("/healthz", "/readyz", "/hooks/", "/metrics")
_WEBHOOKS = "/hooks/"
_FAILED_DELIVERY = frozenset({401, 403, 404, 405})
"""Webhook answers that count toward the anonymous limit: unknown path, bad token or signature
(a delivery that reached its workflow does not: one busy integration would trip it)."""
JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_SCOPE_KEY = "reporunner_request_id"


def _request_id(scope: Scope) -> str:
    raw = cast(dict[str, Any], scope)
    existing = raw.get(_SCOPE_KEY)
    if isinstance(existing, str):
        return existing
    made = uuid.uuid4().hex
    for name, value in raw.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            given = value.decode("latin-1")
            made = given if _REQUEST_ID.match(given) else made
    raw[_SCOPE_KEY] = made
    return made


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


def _session_token(scope: Scope) -> str | None:
    """The ``rr_session`` cookie's value, if any (browsers share the API keys' limit)."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, token = part.strip().partition("=")
                if key == SESSION_COOKIE and token:
                    return token
    return None


async def secure_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: request id and security headers on every HTTP response."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers[REQUEST_ID_HEADER] = _request_id(scope)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    content_type = (headers.get("content-type") or "").lower()
    if "content-security-policy" in headers:
        return
    if "json" in content_type:
        headers["Content-Security-Policy"] = JSON_CSP
    elif "html" in content_type and str(scope.get("path", "")).startswith("/docs"):
        headers["Content-Security-Policy"] = DOCS_CSP


async def _refuse(
    send: Send, path: str, limit: int, retry_after: int, who: str = "this API key"
) -> None:
    body = json.dumps(
        {
            "type": TYPE_BASE + "rate_limited",
            "title": "Too many requests",
            "status": 429,
            "detail": f"{who} made more than {limit} requests this minute; retry after "
            f"{retry_after}s",
            "code": "rate_limited",
            "instance": path,
        }
    ).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 429,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"retry-after", str(retry_after).encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _limit(scope: Scope, path: str) -> tuple[int, int, str] | None:
    """(limit, retry_after, who) when the request is over a limit, else None.

    With a key, or a browser session (which shares the keys' limit): its own limit, and the
    client's failed-lookup limit (a client that keeps sending unknown keys is refused before the
    next one costs a lookup). Without either: the client's anonymous limit (health probes and
    401s count). Webhook deliveries, keyed or not, are only checked against the anonymous
    limit here; one counts when it fails (see :data:`_FAILED_DELIVERY`).
    """
    resources = scope["app"].state.resources
    settings = resources.settings
    key = _bearer(scope)
    who = "this API key"
    if key is None and (key := _session_token(scope)) is not None:
        who = "this session"  # browsers share the API keys' limit
    address = client_address(scope, trusted_proxies_of(settings))
    anonymous = settings.anonymous_rate_limit_per_minute
    if path.startswith(_WEBHOOKS):  # public whatever it carries: a key proves nothing here
        decision = await peek(resources.redis, anon_bucket(address), anonymous)
        anon = "this client (with failed webhook deliveries)"
        return None if decision.allowed else (anonymous, decision.retry_after, anon)
    if key is None and is_app_file(scope):
        return None  # the app's own files: loading the app is not an API call
    if key is None:
        decision = await hit(resources.redis, anon_bucket(address), anonymous)
        anon = "this client (without an API key)"
        return None if decision.allowed else (anonymous, decision.retry_after, anon)
    failed = await peek(resources.redis, authfail_bucket(address), anonymous)
    if not failed.allowed:
        return anonymous, failed.retry_after, "this client (with unknown API keys)"
    if path.startswith(_UNLIMITED):
        return None
    limit = settings.rate_limit_per_minute
    decision = await hit(resources.redis, api_key_bucket(key), limit)
    return None if decision.allowed else (limit, decision.retry_after, who)


async def _count_failed_delivery(scope: Scope) -> None:
    """A webhook delivery failed: it counts toward the client's anonymous limit."""
    settings = scope["app"].state.resources.settings
    address = client_address(scope, settings.trusted_proxies)
    limit = settings.anonymous_rate_limit_per_minute
    await hit(scope["app"].state.resources.redis, anon_bucket(address), limit)


class EdgeMiddleware:
    """Binds the request id, enforces the per-key rate limit, records request metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = cast(dict[str, Any], scope)
        if raw["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = request_id_var.set(_request_id(scope))
        settings = raw["app"].state.resources.settings
        address = client_address_var.set(client_address(scope, trusted_proxies_of(settings))[:64])
        started = time.perf_counter()
        status = 500
        route = str(scope.get("path_template") or "unmatched")

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with _request_span(raw, route) as span:
            try:
                path = scope["path"]
                refusal = await _limit(scope, path)
                if refusal is not None:
                    await _refuse(recording_send, path, *refusal)
                    return
                await self.app(scope, receive, recording_send)
                if status in _FAILED_DELIVERY and path.startswith(_WEBHOOKS):
                    await _count_failed_delivery(scope)
            finally:
                HTTP.observe(str(raw["method"]), route, status, time.perf_counter() - started)
                request_id_var.reset(token)
                client_address_var.reset(address)
                if span is not None:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)


def _request_span(
    scope: dict[str, Any], route: str
) -> contextlib.AbstractContextManager[Span | None]:
    """The request's server span: the root of a new trace (a no-op while tracing is off).

    A caller's ``traceparent`` is not trusted as the parent (anyone may send one, and a
    webhook's sender is not part of our system): a well-formed one becomes a link, so the two
    traces can be joined by hand; a malformed one is ignored.
    """
    if not tracing.enabled():
        return tracing.span("")
    links: list[Link] = []
    for name, value in scope.get("headers", ()):
        if name == b"traceparent":
            caller = tracing.parent_from(value.decode("latin-1"))
            if caller is not None:
                links.append(Link(get_current_span(caller).get_span_context()))
            break
    method = str(scope["method"])
    return tracing.span(
        f"{method} {route}",
        {
            "http.request.method": method,
            "http.route": route,
            "reporunner.request_id": request_id_var.get() or "",
        },
        kind=SpanKind.SERVER,
        parent=Context(),
        links=links,
    )


def edge_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``Litestar(...)``: body limit, CORS and the secure-headers hook."""
    origins = [o.strip() for o in settings.cors_allow_origins.split(",") if o.strip()]
    cors = None
    if origins:
        cors = CORSConfig(
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            allow_credentials=False,
            max_age=600,
        )
    return {
        "request_max_body_size": settings.max_request_bytes,
        "cors_config": cors,
        "before_send": [secure_headers],
    }
