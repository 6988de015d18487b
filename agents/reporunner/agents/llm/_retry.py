"""Which provider errors are worth retrying, and how long to wait before the next attempt."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["backoff_delay", "is_transient", "retry_after_seconds", "status_of"]

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
_TRANSIENT_NAMES = frozenset(
    {
        "Timeout",
        "APIConnectionError",
        "APITimeoutError",
        "ServiceUnavailableError",
        "InternalServerError",
        "RateLimitError",
        "BadGatewayError",
    }
)


def status_of(err: BaseException) -> int | None:
    """HTTP status carried by a litellm/openai exception, if any."""
    status = getattr(err, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(err: BaseException) -> bool:
    """True for rate limits, server errors, timeouts and connection failures."""
    if isinstance(err, TimeoutError | asyncio.TimeoutError):
        return True
    status = status_of(err)
    if status is not None and status in _TRANSIENT_STATUS:
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(err).__mro__)


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and the errors litellm wrapped in it (a stream wraps the provider's error)."""
    chain = [err]
    while len(chain) < 5:
        inner = getattr(chain[-1], "original_exception", None)
        if not isinstance(inner, BaseException) or inner in chain:
            break
        chain.append(inner)
    return chain


def _headers(err: BaseException) -> dict[str, str]:
    found: dict[str, str] = {}
    for layer in _chain(err):  # inner errors (the provider's own) win
        response = getattr(layer, "response", None)
        headers: Any = getattr(response, "headers", None)
        if headers is not None:
            found.update({str(k).lower(): str(v) for k, v in headers.items()})
        extra = getattr(layer, "litellm_response_headers", None)
        if extra is not None:
            found.update({str(k).lower(): str(v) for k, v in dict(extra).items()})
    return found


def retry_after_seconds(err: BaseException, now: datetime | None = None) -> float | None:
    """The server's Retry-After (seconds or HTTP date; ``retry-after-ms`` too), if any."""
    headers = _headers(err)
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(
    attempt: int, base_s: float, max_s: float, retry_after: float | None = None
) -> float:
    """Delay before retry number ``attempt`` (1-based).

    Retry-After wins when the server sent one (capped by ``max_s``); otherwise exponential
    backoff with full jitter in its upper half, so that many workers do not retry in step.
    """
    if retry_after is not None:
        return min(retry_after, max_s)
    ceiling = min(max_s, base_s * 2.0 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)
