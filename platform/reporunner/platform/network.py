"""What the operator lets credentials and identity providers reach.

:func:`oidc_transport` is the guarded transport every OpenID Connect request goes through
(discovery, keys, token and userinfo endpoints): public addresses only, unless the host is in
``REPORUNNER_OIDC_ALLOW_HOSTS`` (an identity provider on the internal network).

``postgres.query``, ``redis.command`` and ``email.send`` connect to hosts from credentials
through :class:`~reporunner.nodes.hostguard.HostGuard`. Built here from the settings: the
allow-list ``REPORUNNER_CREDENTIAL_ALLOW_HOSTS`` and the platform's own PostgreSQL and Redis
(from ``DATABASE_URL`` and ``REDIS_URL``), which stay refused unless allow-listed by name.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import make_url

from reporunner.nodes.hostguard import HOST_GUARD, HostGuard
from reporunner.nodes.ssrf import SSRFPolicy, guarded_transport
from reporunner.platform.resources import Resources
from reporunner.platform.settings import Settings

if TYPE_CHECKING:
    from reporunner.platform.executions.node_services import RunInfo

__all__ = [
    "host_guard_for",
    "host_guard_provider",
    "oidc_policy",
    "oidc_transport",
    "platform_services",
]


def platform_services(settings: Settings) -> tuple[tuple[str, int], ...]:
    """``(host, port)`` of the platform's own PostgreSQL and Redis (socket paths included)."""
    found: list[tuple[str, int]] = []
    if settings.database_url:
        url = make_url(settings.database_url)
        query_host = url.query.get("host")
        host = url.host or (query_host if isinstance(query_host, str) else "") or ""
        found.append((host, url.port or 5432))
    if settings.redis_url:
        parts = urlsplit(settings.redis_url)
        if parts.scheme == "unix":
            found.append((parts.path, 6379))
        elif parts.hostname:
            found.append((parts.hostname, parts.port or 6379))
    return tuple(item for item in found if item[0])


def host_guard_for(settings: Settings) -> HostGuard:
    """The guard credentials connect through, as the settings ask."""
    hosts = tuple(h.strip() for h in settings.credential_allow_hosts.split(",") if h.strip())
    return HostGuard(SSRFPolicy(allow_hosts=hosts), platform_services(settings))


def host_guard_provider(
    resources: Resources, workspace_id: uuid.UUID, run: RunInfo
) -> tuple[str, Any]:
    """``"host_guard"``: the operator's :class:`~reporunner.nodes.hostguard.HostGuard`."""
    return HOST_GUARD, host_guard_for(resources.settings)


def oidc_policy(settings: Settings) -> SSRFPolicy:
    """What OpenID provider URLs may reach (no redirects: OIDC endpoints answer directly)."""
    hosts = tuple(h.strip() for h in settings.oidc_allow_hosts.split(",") if h.strip())
    return SSRFPolicy(allow_hosts=hosts, max_redirects=0)


def oidc_transport(settings: Settings) -> httpx.AsyncBaseTransport:
    """The SSRF-guarded transport of every OpenID Connect request."""
    return guarded_transport(oidc_policy(settings))
