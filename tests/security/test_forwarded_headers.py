"""Forged client addresses (#18, finding 6's trusted-proxy setting, made one setting).

Two settings used to decide whether ``X-Forwarded-*`` is believed: ``REPORUNNER_TRUSTED_PROXIES``
(CIDRs, for the anonymous limits) and ``REPORUNNER_TRUST_PROXY_HEADERS`` (a boolean, for
cookies, links and the sign-in limits, which took the *left-most* ``X-Forwarded-For`` entry:
the one the client writes itself, so rotating it escaped the per-address sign-in limit). Now
one setting, CIDRs or ``*``, decides for all of them, the client is the right-most entry that
is not a trusted proxy, and the boolean is a deprecated alias of ``*``.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.api.app import create_app
from reporunner.platform.api.clients import client_address
from reporunner.platform.auth.requests import trusted_proxies_of
from reporunner.platform.settings import load_settings


def _scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 4242), "headers": headers}


def test_any_proxy_means_the_hop_the_proxy_appended() -> None:
    forged = _scope("172.17.0.5", "6.6.6.6, 7.7.7.7, 198.51.100.7")
    assert client_address(forged, "*") == "198.51.100.7"  # not a forged left-hand entry
    assert client_address(_scope("172.17.0.5"), "*") == "172.17.0.5"  # no header: the peer
    # a listed network: every hop inside it is a proxy, the first one outside is the client
    chain = _scope("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.9")
    assert client_address(chain, "10.0.0.0/8, 192.168.0.0/16") == "198.51.100.7"
    assert client_address(chain, "") == "10.0.0.2"


def test_one_setting_with_the_old_boolean_as_an_alias() -> None:
    assert trusted_proxies_of(load_settings()) == ""
    assert trusted_proxies_of(load_settings(trust_proxy_headers=True)) == "*"
    both = load_settings(trust_proxy_headers=True, trusted_proxies="10.0.0.0/8")
    assert trusted_proxies_of(both) == "10.0.0.0/8"
    for bad in ("10.0.0.0/33", "proxy.example.com", "10.0.0.1, *x"):
        with pytest.raises(ConfigurationError, match="REPORUNNER_TRUSTED_PROXIES"):
            load_settings(trusted_proxies=bad)


async def test_rotating_forged_entries_does_not_escape_the_signin_limit(services: Any) -> None:
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        trusted_proxies="*",
        signin_failures_per_account=0,
        signin_failures_per_ip=2,
    )
    # what the proxy appends: the address it saw (random, so no other test shares its window)
    seen = f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"
    codes = []
    async with AsyncTestClient(create_app(settings)) as client:
        for _ in range(3):
            forged = f"{uuid.uuid4().int % 223 + 1}.1.2.3, {seen}"
            guess = {"email": f"{uuid.uuid4().hex[:8]}@example.test", "password": "guess " * 3}
            response = await client.post(
                "/auth/login", json=guess, headers={"X-Forwarded-For": forged}
            )
            codes.append(response.status_code)
    assert codes == [401, 401, 429], codes
