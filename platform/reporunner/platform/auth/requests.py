"""What a request says about its client: scheme, address and public base URL.

Proxy headers (``X-Forwarded-Proto``, ``X-Forwarded-For``, ``X-Forwarded-Host``) are believed
only when ``REPORUNNER_TRUST_PROXY_HEADERS`` says a reverse proxy sets them; otherwise any client
could claim HTTPS or another address.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from reporunner.platform.settings import Settings

__all__ = ["base_url", "client_ip", "is_https"]


def _forwarded(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> str | None:
    value = connection.headers.get(name)
    if not value:
        return None
    return value.split(",")[0].strip() or None


def is_https(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> bool:
    """Whether the browser talks HTTPS to us (decides the cookie's Secure flag)."""
    if settings.trust_proxy_headers:
        proto = _forwarded(connection, "x-forwarded-proto")
        if proto is not None:
            return proto.lower() == "https"
    return connection.url.scheme == "https"


def client_ip(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> str:
    """The client's address (the first ``X-Forwarded-For`` hop behind a trusted proxy)."""
    if settings.trust_proxy_headers:
        forwarded = _forwarded(connection, "x-forwarded-for")
        if forwarded is not None:
            return forwarded[:64]
    client = connection.client
    return (client.host if client is not None else "unknown")[:64]


def base_url(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> str:
    """``scheme://host[:port]`` as the browser sees it, for links we hand out."""
    scheme = "https" if is_https(connection, settings) else "http"
    host = _forwarded(connection, "x-forwarded-host") if settings.trust_proxy_headers else None
    host = host or connection.headers.get("host") or f"{settings.host}:{settings.port}"
    return f"{scheme}://{host}"
