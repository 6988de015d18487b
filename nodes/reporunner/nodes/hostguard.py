"""The SSRF guard for hosts that are not URLs: databases, Redis servers and SMTP relays.

``postgres.query``, ``redis.command`` and ``email.send`` take their host from a credential. An
admin who may create credentials must not reach the platform's own PostgreSQL (as its
superuser, over the unix socket) or Redis (where queued jobs live) through them. So these nodes
ask :class:`HostGuard` for the addresses of their host before connecting: unix sockets and
libpq service files are refused, the name is resolved once and every answer must pass the same
checks as an HTTP URL (loopback, private, link-local... refused unless allow-listed), and the
platform's own services are refused even when their network is allow-listed, unless their
exact host is. The node then connects to the checked address (keeping the name for TLS), so
DNS rebinding cannot slip through.

The engine offers the operator's guard as the ``host_guard`` service (allow-list
``REPORUNNER_CREDENTIAL_ALLOW_HOSTS``); without one, nothing private is reachable.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import httpcore

from reporunner.nodes.base import NodeContext
from reporunner.nodes.errors import NodeError, SSRFBlockedError
from reporunner.nodes.ssrf import (
    Resolver,
    SSRFPolicy,
    _literal_address,
    check_address,
    system_resolver,
)

__all__ = ["HOST_GUARD", "HostGuard", "host_guard"]

HOST_GUARD = "host_guard"
"""Name of the engine service that holds the operator's :class:`HostGuard`."""


def _refused(host: str, reason: str) -> SSRFBlockedError:
    return SSRFBlockedError(
        f"refused to connect to '{host}': {reason}; the operator may allow the host with "
        "REPORUNNER_CREDENTIAL_ALLOW_HOSTS if it is meant to be reachable",
        host=host,
        reason=reason,
    )


@dataclass(frozen=True, slots=True)
class HostGuard:
    """Where credentials may point.

    Attributes:
        policy: Hosts and networks allowed although private (the operator's allow-list).
        platform_services: ``(host, port)`` of the platform's own PostgreSQL and Redis; refused
            unless ``policy`` names that host exactly (a network is not enough).
        resolver: DNS resolver (the event loop's by default).
    """

    policy: SSRFPolicy = field(default_factory=SSRFPolicy)
    platform_services: tuple[tuple[str, int], ...] = ()
    resolver: Resolver | None = None

    async def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses to connect to for ``host:port`` (empty for a unix socket
        directory the allow-list names exactly: connect to it by name).

        Raises:
            SSRFBlockedError: a unix socket, a refused address, or the platform's own service.
        """
        host = host.strip()
        if host.startswith("/") and self.policy.host_allowed(host):
            return []  # an allow-listed unix socket directory: connect by name
        if not host or host.startswith(("/", "@")) or "," in host:
            shown = host or "(no host: the local unix socket)"
            raise _refused(shown, "unix sockets and host lists are never reachable")
        name = host.lower().rstrip(".").strip("[]")
        if name == "localhost" or name.endswith(".localhost"):
            raise _refused(host, "'localhost' names always point at this machine")
        literal = _literal_address(host)
        if literal is not None:
            if literal.version == 4 and name != str(literal):
                raise _refused(host, f"non-canonical spelling of IPv4 address {literal}")
            answers = [str(literal)]
        else:
            try:
                answers = await (self.resolver or system_resolver)(host, port)
            except httpcore.ConnectError as err:
                raise NodeError(f"cannot resolve host '{host}': {err}", retryable=True) from None
            if not answers:
                raise NodeError(f"host '{host}' resolved to no address")
        for answer in answers:
            try:
                check_address(self.policy, host, ipaddress.ip_address(answer))
            except SSRFBlockedError as err:
                # the URL guard's message names the MCP/LLM allow-lists, which widen nothing
                # here: name the one setting that does (#18)
                reason = str(err.extra.get("reason") or "not a public address")
                shown = host if host == answer else f"{host}' -> '{answer}"
                raise _refused(shown, reason) from None
        await self._not_the_platform(host, port, answers)
        return answers

    async def _not_the_platform(self, host: str, port: int, answers: list[str]) -> None:
        named = {entry.strip().lower().strip("[]") for entry in self.policy.allow_hosts}
        if host.lower().strip("[]") in named:
            return  # the operator named this very host
        for own_host, own_port in self.platform_services:
            if own_port != port:
                continue
            own = {own_host}
            if _literal_address(own_host) is None and not own_host.startswith("/"):
                try:
                    own.update(await (self.resolver or system_resolver)(own_host, own_port))
                except (OSError, httpcore.ConnectError):
                    continue
            if own.intersection(answers) or own_host == host:
                raise _refused(host, "it is the platform's own database or Redis")


def host_guard(ctx: NodeContext) -> HostGuard:
    """The engine's guard, or the strictest one when the engine offers none."""
    try:
        guard = ctx.service(HOST_GUARD)
    except NodeError:
        return HostGuard()
    return guard if isinstance(guard, HostGuard) else HostGuard()
