"""Helpers shared by the nodes that talk HTTP: retries, response decoding, safe URLs.

Every request goes through ``ctx.http`` (the engine's SSRF-guarded client), never a client of
our own, so that the guard sees every URL and every redirect hop.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import time
from collections.abc import Sequence
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
    **request_kwargs: Any,
) -> httpx.Response:
    """Send one request through ``ctx.http``, retrying 429/5xx answers and timeouts.

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
            response = await ctx.http.request(method, url, **request_kwargs)
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
