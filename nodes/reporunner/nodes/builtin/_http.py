"""Helpers shared by the nodes that talk HTTP: retries, response decoding, safe URLs.

Every request goes through ``ctx.http`` (the engine's SSRF-guarded client), never a client of
our own, so that the guard sees every URL and every redirect hop.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from reporunner.nodes.base import NodeContext
from reporunner.nodes.errors import NodeError
from reporunner.nodes.logging import redact

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ResponseFormat = Literal["auto", "json", "text", "binary"]

_sleep = asyncio.sleep
"""Backoff sleep (a module attribute so tests can record the delays instead of waiting)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry 429/5xx answers and timeouts."""

    retries: int = 2
    backoff: float = 0.5
    max_wait: float = 30.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds before retry number ``attempt`` (0-based): Retry-After if the server sent
        one, else exponential backoff; never more than ``max_wait``."""
        wanted = retry_after(response) if response is not None else None
        if wanted is None:
            wanted = self.backoff * (2**attempt)
        return max(0.0, min(wanted, self.max_wait))


def retry_after(response: httpx.Response) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


async def send(
    ctx: NodeContext,
    method: str,
    url: str | httpx.URL,
    *,
    retry: RetryPolicy,
    secrets: Sequence[str] = (),
    follow_redirects: bool = False,
    auth_headers: Iterable[str] = (),
    auth_query: Mapping[str, str] | None = None,
    **request_kwargs: Any,
) -> httpx.Response:
    """Send one request through ``ctx.http``, retrying 429/5xx answers and timeouts.

    Redirects are followed here, hop by hop (each hop still passes the SSRF guard of
    ``ctx.http``): once a hop leaves the original origin, the ``auth_headers`` and
    ``auth_query`` params are dropped, so that an API key never travels to another host
    (httpx itself only drops ``Authorization``).

    Returns the last response (the caller decides whether its status is a failure).

    Raises:
        NodeError: every attempt timed out or failed to connect (``retryable``), or the
            execution was cancelled; messages never contain a secret.
    """
    attempt = 0
    while True:
        if ctx.is_cancelled():
            raise NodeError("the execution was cancelled before the request was sent")
        response: httpx.Response | None = None
        try:
            response = await ctx.http.request(method, url, follow_redirects=False, **request_kwargs)
            if follow_redirects:
                response = await _follow(ctx, response, auth_headers, auth_query or {})
        except (httpx.TimeoutException, httpx.ConnectError) as err:
            if attempt >= retry.retries:
                kind = "timed out" if isinstance(err, httpx.TimeoutException) else "failed"
                detail = redact(f"{type(err).__name__}: {err}", secrets)
                raise NodeError(
                    f"{method} {safe_url(url, secrets)} {kind} after {attempt + 1} attempt(s) "
                    f"({detail}); check the URL and the timeout",
                    retryable=True,
                ) from None
        else:
            if response.status_code not in RETRY_STATUSES or attempt >= retry.retries:
                return response
            await response.aclose()
        delay = retry.delay(attempt, response)
        ctx.logger.info(
            "retrying %s %s in %.2fs (attempt %d of %d)",
            method,
            safe_url(url, secrets),
            delay,
            attempt + 2,
            retry.retries + 1,
        )
        await _sleep(delay)
        attempt += 1


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


async def _follow(
    ctx: NodeContext,
    response: httpx.Response,
    auth_headers: Iterable[str],
    auth_query: Mapping[str, str],
) -> httpx.Response:
    """Follow ``response``'s redirects, dropping credentials once the origin changes (and
    putting a query-string key back on same-origin hops whose Location omitted it)."""
    origin = _origin(response.request.url)
    limit = ctx.http.max_redirects
    hops = 0
    while response.next_request is not None:
        hops += 1
        if hops > limit:
            await response.aclose()
            raise NodeError(
                f"more than {limit} redirects from {safe_url(response.request.url)}; the URL "
                "probably loops"
            )
        request = response.next_request
        if _origin(request.url) != origin:
            for name in auth_headers:
                request.headers.pop(name, None)
            for name in auth_query:
                request.url = request.url.copy_remove_param(name)
        elif auth_query:
            request.url = request.url.copy_merge_params(dict(auth_query))
        await response.aclose()
        response = await ctx.http.send(request, follow_redirects=False)
    return response


def safe_url(url: str | httpx.URL, secrets: Sequence[str] = ()) -> str:
    """``url`` without its query string or user info, fit for messages and logs."""
    try:
        parsed = httpx.URL(str(url))
    except httpx.InvalidURL:
        return redact(str(url).split("?", 1)[0], secrets)
    shown = parsed.copy_with(query=None, fragment=None, userinfo=b"")
    return redact(str(shown), secrets)


def decode_body(response: httpx.Response, fmt: ResponseFormat) -> Any:
    """The response body as JSON, text, or ``{"data": base64, "mime_type", "size"}``.

    ``auto`` picks JSON for JSON content types, text for ``text/*``, XML and form answers, and
    binary for everything else.

    Raises:
        NodeError: ``json`` was asked for and the body is not JSON.
    """
    mime = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if fmt == "auto":
        if mime == "application/json" or mime.endswith("+json"):
            fmt = "json"
        elif not response.content or _is_text(mime):
            fmt = "text"
        else:
            fmt = "binary"
    if fmt == "json":
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as err:
            raise NodeError(
                f"the response ({mime or 'no content type'}) is not JSON: {err}; set "
                "response_format to 'text' or 'binary'"
            ) from err
    if fmt == "text":
        return response.text
    return {
        "data": base64.b64encode(response.content).decode("ascii"),
        "mime_type": mime or "application/octet-stream",
        "size": len(response.content),
    }


def _is_text(mime: str) -> bool:
    return (
        mime.startswith("text/")
        or mime.endswith(("+xml", "/xml"))
        or mime in {"application/x-www-form-urlencoded", "application/javascript"}
    )
