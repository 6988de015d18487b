"""What a request says about its client: scheme, address and public base URL.

Proxy headers (``X-Forwarded-For``, ``X-Forwarded-Proto``, ``X-Forwarded-Host``) are believed
only from a trusted reverse proxy: ``REPORUNNER_TRUSTED_PROXIES``, a comma-separated list of
IPs/CIDRs, or ``*`` for "whatever connects to us is the proxy" (one proxy in front, nothing
reaches the API around it). The client's address is then the right-most ``X-Forwarded-For``
entry that is not a trusted proxy: the proxy appends the address it saw, and everything left of
it is the client's to forge. ``REPORUNNER_TRUST_PROXY_HEADERS=true`` is the deprecated spelling
of ``*``. Without either, any client could claim HTTPS or another address.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar.connection import ASGIConnection

from reporunner.platform.settings import Settings

__all__ = [
    "base_url",
    "client_ip",
    "forwarded_client",
    "is_https",
    "peer_is_trusted",
    "trusted_proxies_of",
]

_ANY = "*"


def trusted_proxies_of(settings: Settings) -> str:
    """The trusted-proxy list in force (the deprecated boolean means ``*``)."""
    if settings.trusted_proxies.strip():
        return settings.trusted_proxies
    return _ANY if settings.trust_proxy_headers else ""


def _networks(trusted: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(entry.strip(), strict=False)
        for entry in trusted.split(",")
        if entry.strip() and entry.strip() != _ANY
    ]


def _in(address: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _peer(scope: Any) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def peer_is_trusted(scope: Any, trusted: str) -> bool:
    """Whether the socket's peer is a trusted proxy (so its forwarded headers count)."""
    if not trusted.strip():
        return False
    if _ANY in (e.strip() for e in trusted.split(",")):
        return True
    return _in(_peer(scope), _networks(trusted))


def forwarded_client(scope: Any, trusted: str) -> str:
    """The calling client's address: the peer, or behind trusted proxies the right-most
    ``X-Forwarded-For`` hop that is not one of them."""
    peer = _peer(scope)
    if not peer_is_trusted(scope, trusted):
        return peer
    hops: list[str] = []
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-for":
            hops += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
    networks = _networks(trusted)
    for hop in reversed(hops):
        if not _in(hop, networks):
            return hop[:64]
    return peer


def _forwarded(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> str | None:
    value = connection.headers.get(name)
    if not value:
        return None
    return value.split(",")[0].strip() or None


def is_https(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> bool:
    """Whether the browser talks HTTPS to us (decides the cookie's Secure flag)."""
    if peer_is_trusted(connection.scope, trusted_proxies_of(settings)):
        proto = _forwarded(connection, "x-forwarded-proto")
        if proto is not None:
            return proto.lower() == "https"
    return connection.url.scheme == "https"


def client_ip(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> str:
    """The client's address (see the module docstring for proxies)."""
    return forwarded_client(connection.scope, trusted_proxies_of(settings))[:64]


def base_url(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> str:
    """``scheme://host[:port]`` as the browser sees it, for links we hand out."""
    scheme = "https" if is_https(connection, settings) else "http"
    trusted = peer_is_trusted(connection.scope, trusted_proxies_of(settings))
    host = _forwarded(connection, "x-forwarded-host") if trusted else None
    host = host or connection.headers.get("host") or f"{settings.host}:{settings.port}"
    return f"{scheme}://{host}"
