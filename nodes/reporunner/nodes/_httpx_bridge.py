"""httpx <-> httpcore glue for the SSRF guard's transport, and httpx log hygiene.

The guard drives an ``httpcore`` pool directly (to give it a checking network backend), so it
needs what ``httpx.AsyncHTTPTransport`` does privately: turn httpcore errors into httpx errors
and wrap the response stream.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpcore
import httpx

__all__ = ["ResponseStream", "hide_url_secrets_in_httpx_logs", "map_exceptions"]

_CORE_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)


@contextlib.contextmanager
def map_exceptions() -> Iterator[None]:
    """Re-raise httpcore errors as their httpx counterparts, so callers catch httpx types."""
    try:
        yield
    except _CORE_ERRORS as err:
        raise _translate(err) from err


def _translate(err: Exception) -> httpx.HTTPError:
    for cls in type(err).__mro__:
        if cls.__module__.startswith("httpcore") and hasattr(httpx, cls.__name__):
            mapped: type[httpx.HTTPError] = getattr(httpx, cls.__name__)
            return mapped(str(err))
    return httpx.TransportError(str(err))


class ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with map_exceptions():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


class _HideUrlSecrets(logging.Filter):
    """Logs the URLs of httpx's request log lines as origin only (``https://host:port/...``).

    httpx logs every request URL at INFO. Query strings carry API keys and signatures, and the
    paths of incoming webhooks (Slack, Discord, Teams) carry their tokens; a node cannot keep
    them out of that line any other way.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                _origin_only(a) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def _origin_only(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}/..."


def hide_url_secrets_in_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _HideUrlSecrets) for f in httpx_logger.filters):
        httpx_logger.addFilter(_HideUrlSecrets())
