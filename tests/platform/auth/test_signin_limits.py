"""Failed sign-ins are limited per account and per client address (counted, never timed)."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis
from signin_testkit import PASSWORD, browser, make_member, sign_in, unique_email

from reporunner.platform.auth.throttle import _key


def _ip() -> str:
    """A client address of this test only (the limits are shared through Redis)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


async def test_account_is_locked_after_n_failures_even_with_the_right_password(
    settings, services
) -> None:
    member = await make_member(services.database_url)
    limited = settings.model_copy(
        update={"signin_failures_per_account": 3, "signin_failures_per_ip": 0}
    )
    wrong = {"email": member.email, "password": "not the password"}
    right = {"email": member.email.upper(), "password": PASSWORD}
    async with browser(limited) as client:
        codes = [(await client.post("/auth/login", json=wrong)).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        refused = await client.post("/auth/login", json=right)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "this account" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1
        assert "set-cookie" not in refused.headers
    # another account is not affected
    other = await make_member(services.database_url)
    async with browser(limited) as client:
        ok = await client.post("/auth/login", json={"email": other.email, "password": PASSWORD})
        assert ok.status_code == 200


async def test_success_clears_the_account_count(settings, services) -> None:
    member = await make_member(services.database_url)
    limited = settings.model_copy(
        update={"signin_failures_per_account": 2, "signin_failures_per_ip": 0}
    )
    wrong = {"email": member.email, "password": "not the password"}
    right = {"email": member.email, "password": PASSWORD}
    async with browser(limited) as client:
        assert (await client.post("/auth/login", json=wrong)).status_code == 401
        assert (await client.post("/auth/login", json=right)).status_code == 200
        assert (await client.post("/auth/login", json=wrong)).status_code == 401
        assert (await client.post("/auth/login", json=right)).status_code == 200


async def test_one_address_is_limited_across_accounts(settings, services) -> None:
    member = await make_member(services.database_url)
    limited = settings.model_copy(
        update={
            "signin_failures_per_account": 0,
            "signin_failures_per_ip": 3,
            "trust_proxy_headers": True,
        }
    )
    attacker, victim = {"X-Forwarded-For": _ip()}, {"X-Forwarded-For": _ip()}
    async with browser(limited) as client:
        for _ in range(3):
            guess = {"email": unique_email(), "password": "guess guess guess"}
            response = await client.post("/auth/login", json=guess, headers=attacker)
            assert response.status_code == 401
        right = {"email": member.email, "password": PASSWORD}
        refused = await client.post("/auth/login", json=right, headers=attacker)
        assert refused.status_code == 429
        assert "your address" in refused.json()["detail"]
        # the member signing in from elsewhere is not locked out
        assert (await client.post("/auth/login", json=right, headers=victim)).status_code == 200


async def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings, services) -> None:
    limited = settings.model_copy(
        update={"signin_failures_per_account": 0, "signin_failures_per_ip": 2}
    )
    peer = Redis.from_url(services.redis_url)
    await peer.delete(_key("ip", "testclient"))  # the test client's fixed peer address
    await peer.aclose()
    async with browser(limited) as client:
        # rotating X-Forwarded-For does not escape the limit of the real peer address
        client_peer = {"email": unique_email(), "password": "guess guess guess"}
        codes = []
        for _ in range(3):
            response = await client.post(
                "/auth/login", json=client_peer, headers={"X-Forwarded-For": _ip()}
            )
            codes.append(response.status_code)
    assert codes[:2] == [401, 401]
    assert codes[2] == 429


async def test_a_session_shares_the_per_minute_request_limit(settings, services) -> None:
    member = await make_member(services.database_url)
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    async with browser(limited) as client:
        await sign_in(client, member.email)
        statuses = [(await client.get("/workspace")).status_code for _ in range(5)]
        refused = await client.get("/workspace")
    assert statuses.count(429) >= 1  # a window may turn mid-test, never more than 3 per window
    assert refused.status_code == 429
    assert "this session made more than 3 requests" in refused.json()["detail"]
