"""SSRF guard: an httpx client that refuses to reach private, loopback and metadata addresses.

Every node that opens a user-supplied URL goes through :func:`guarded_client` (the engine hands
one to nodes as ``ctx.http``). The guard works at two points:

1. **Before any I/O** (in the transport, for every request including each redirect hop): the
   scheme must be http/https, ``localhost`` names are refused, and an IP literal must be in
   canonical form and public. Odd spellings (``2130706433``, ``0x7f.1``, ``017700000001``,
   ``127.1``) are refused outright: libc would read them as 127.0.0.1 while a naive check would
   not.
2. **At connect time** (in a custom httpcore *network backend*): the host name is resolved once,
   here, with ``loop.getaddrinfo``; every resolved address must pass; the socket is then opened
   to one of exactly those addresses. There is no second lookup, so DNS rebinding (a public
   answer for the check, a private one for the connect) cannot slip through.

Why a network backend rather than rewriting the URL to the IP with a ``Host`` header and the
``sni_hostname`` extension: httpcore calls the backend with the origin's host name and then does
TLS itself with ``server_hostname`` = that name, so the ``Host`` header, SNI *and certificate
verification* stay those of the original host without any rewriting; connection pooling stays
keyed by the real origin; ``response.url``, relative redirects and cookies keep working; and
HTTP/2 ``:authority`` is right. Rewriting the URL breaks several of those and needs care on
every hop. Proxies are refused (a proxy would do its own, unchecked lookup).

A workspace may allow-list hosts: a name (``api.internal``, or ``*.corp.example`` for
sub-domains) lets that host through whatever it resolves to; a CIDR or IP (``10.1.0.0/16``)
lets addresses inside it through.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpcore
import httpx

from reporunner.nodes._httpx_bridge import (
    ResponseStream,
    hide_url_secrets_in_httpx_logs,
    map_exceptions,
)
from reporunner.nodes.errors import ConfigurationError, SSRFBlockedError

__all__ = [
    "Resolver",
    "SSRFPolicy",
    "blocked_reason",
    "check_address",
    "check_url",
    "guarded_client",
    "guarded_transport",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``async (host, port) -> [ip, ...]``: the DNS answers the guard checks and connects to."""

_SAFE_SCHEMES = frozenset({"http", "https"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REFUSED_KWARGS = ("transport", "mounts", "proxy", "proxies", "app", "trust_env")


@dataclass(frozen=True, slots=True)
class SSRFPolicy:
    """What the guard lets through.

    Attributes:
        allow_hosts: Host names (exact, or ``*.suffix``) and IPs/CIDRs the workspace trusts even
            though they are private.
        allowed_schemes: URL schemes allowed; only http and https can ever be allowed.
        max_redirects: Redirect hops a client follows (each hop is checked again).
    """

    allow_hosts: tuple[str, ...] = ()
    allowed_schemes: tuple[str, ...] = ("http", "https")
    max_redirects: int = 5
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _suffixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        bad = [s for s in self.allowed_schemes if s.lower() not in _SAFE_SCHEMES]
        if bad:
            raise ConfigurationError(
                f"SSRFPolicy.allowed_schemes may only contain 'http' and 'https', got {bad}"
            )
        if self.max_redirects < 0:
            raise ConfigurationError("SSRFPolicy.max_redirects must be 0 or more")
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for raw in self.allow_hosts:
            entry = raw.strip().lower().rstrip(".").strip("[]")
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            elif entry:
                names.add(entry)
        object.__setattr__(self, "_names", frozenset(names))
        object.__setattr__(self, "_suffixes", tuple(suffixes))
        object.__setattr__(self, "_networks", tuple(networks))

    def host_allowed(self, host: str) -> bool:
        """True when ``host`` (a name) is allow-listed by name or ``*.suffix``."""
        name = host.lower().rstrip(".")
        return name in self._names or any(name.endswith(s) for s in self._suffixes)

    def address_allowed(self, address: IPAddress) -> bool:
        """True when ``address`` lies in an allow-listed IP or CIDR."""
        return any(address in net for net in self._networks)


def blocked_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be reached, or None when it is a public unicast address.

    IPv6 forms that embed an IPv4 address (``::ffff:127.0.0.1``, 6to4, NAT64) are judged by the
    embedded address as well.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded: IPAddress | None = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = blocked_reason(embedded)
            if inner:
                return f"{inner} (embedded in IPv6 address)"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address (cloud metadata lives here)"),
        (address.is_multicast, "multicast address"),
        (address in _CGNAT, "carrier-grade NAT address (100.64.0.0/10)"),
        (address.is_reserved, "reserved address"),
        (address.is_private, "private address"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (not address.is_global, "non-global address"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


def _blocked(host: str, reason: str) -> SSRFBlockedError:
    return SSRFBlockedError(
        f"refused to connect to '{host}': {reason}; only public addresses are reachable "
        "(the operator may allow private hosts for MCP servers and model servers with "
        "REPORUNNER_MCP_ALLOW_HOSTS and REPORUNNER_LLM_ALLOW_HOSTS)",
        host=host,
        reason=reason,
    )


def _literal_address(host: str) -> IPAddress | None:
    """The IP a host string denotes if it is any spelling of an IP address, else None."""
    host = host.strip("[]").rstrip(".")  # "127.0.0.1." is the same address
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host)
    with contextlib.suppress(OSError, UnicodeEncodeError):
        # inet_aton accepts the legacy forms libc also accepts: 2130706433, 0x7f.1, 0177.1...
        return ipaddress.IPv4Address(socket.inet_aton(host))
    return None


def check_address(policy: SSRFPolicy, host: str, address: IPAddress) -> None:
    """Raise :class:`SSRFBlockedError` unless ``address`` (resolved for ``host``) is allowed."""
    if policy.host_allowed(host) or policy.address_allowed(address):
        return
    reason = blocked_reason(address)
    if reason:
        shown = host if host == str(address) else f"{host}' -> '{address}"
        raise _blocked(shown, reason)


def check_url(policy: SSRFPolicy, url: httpx.URL) -> None:
    """Refuse a URL before any I/O: wrong scheme, ``localhost``, odd or private IP literals."""
    scheme = url.scheme.lower()
    if not scheme:
        # httpx reads a host-less URL such as file:///etc/passwd as a relative one.
        raise _blocked(str(url), "the URL has no http or https scheme and host")
    if scheme not in {s.lower() for s in policy.allowed_schemes}:
        raise _blocked(
            url.host or str(url),
            f"scheme '{scheme}' is not allowed (use {' or '.join(policy.allowed_schemes)})",
        )
    host = url.host
    if not host:
        raise _blocked(str(url), "the URL has no host")
    if policy.host_allowed(host):
        return
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise _blocked(host, "'localhost' names always point at this machine")
    address = _literal_address(host)
    if address is None:
        return
    if address.version == 4 and host != str(address):
        raise _blocked(
            host, f"non-canonical spelling of IPv4 address {address}; write it as {address}"
        )
    check_address(policy, host, address)


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the event loop's ``getaddrinfo`` (no blocking call)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise httpcore.ConnectError(f"cannot resolve host '{host}': {err}") from err
    answers: list[str] = []
    for info in infos:
        ip = str(info[4][0])
        if ip not in answers:
            answers.append(ip)
    return answers


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every answer, connects only to a checked address."""

    def __init__(self, policy: SSRFPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def _checked_addresses(self, host: str, port: int) -> list[str]:
        literal = _literal_address(host)
        if literal is not None:
            check_address(self._policy, host, literal)
            return [str(literal)]
        answers = await self._resolver(host, port)
        if not answers:
            raise httpcore.ConnectError(f"host '{host}' resolved to no address")
        for answer in answers:
            check_address(self._policy, host, ipaddress.ip_address(answer))
        return answers

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await self._checked_addresses(host, port)
        except TimeoutError as err:
            raise httpcore.ConnectTimeout(f"resolving '{host}' timed out") from err
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise _blocked(path, "unix sockets are never reachable through the guard")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool whose network backend is the guard."""

    def __init__(
        self, policy: SSRFPolicy, resolver: Resolver, ssl_context: ssl.SSLContext, http2: bool
    ) -> None:
        self._policy = policy
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            http2=http2,
            network_backend=_GuardedBackend(policy, resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_url(self._policy, request.url)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with map_exceptions():
            response = await self._pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def guarded_transport(
    policy: SSRFPolicy | None = None,
    *,
    resolver: Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
    http2: bool = False,
) -> httpx.AsyncBaseTransport:
    """The guard as a bare ``httpx`` transport, for clients that a library builds itself
    (litellm's, see ``reporunner.agents.llm``): every request is checked before any I/O and
    every connection at connect time, exactly as in :func:`guarded_client`.
    """
    ssl_context = (
        verify
        if isinstance(verify, ssl.SSLContext)
        else httpx.create_ssl_context(verify=verify, trust_env=False)
    )
    hide_url_secrets_in_httpx_logs()
    return _GuardedTransport(
        policy or SSRFPolicy(), resolver or system_resolver, ssl_context, http2
    )


def guarded_client(
    policy: SSRFPolicy | None = None,
    *,
    resolver: Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
    http2: bool = False,
    **httpx_kwargs: Any,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request and redirect hop passes the SSRF guard.

    Args:
        policy: What to let through; the default refuses every non-public address.
        resolver: DNS resolver (``system_resolver`` by default); tests pass a fake one.
        verify: TLS verification, as for httpx.
        http2: Offer HTTP/2 (needs the ``h2`` package).
        **httpx_kwargs: Other ``httpx.AsyncClient`` arguments (headers, timeout,
            follow_redirects...). ``transport``, ``mounts`` and proxies are refused: they would
            bypass the guard. ``max_redirects`` comes from the policy.

    The first call also makes httpx's request log lines show URLs as origin only (paths and
    query strings may hold tokens).

    Raises:
        ConfigurationError: a refused keyword was given.
    """
    policy = policy or SSRFPolicy()
    refused = sorted(k for k in httpx_kwargs if k in _REFUSED_KWARGS or k == "max_redirects")
    if refused:
        raise ConfigurationError(
            f"guarded_client does not take {refused}: they would bypass the SSRF guard "
            "(set max_redirects on the SSRFPolicy)"
        )
    ssl_context = (
        verify
        if isinstance(verify, ssl.SSLContext)
        else httpx.create_ssl_context(verify=verify, trust_env=False)
    )
    hide_url_secrets_in_httpx_logs()
    transport = _GuardedTransport(policy, resolver or system_resolver, ssl_context, http2)
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        max_redirects=policy.max_redirects,
        **httpx_kwargs,
    )
