"""Finding 6: anonymous floods were never limited, and every random key cost a lookup.

The attack: 1,500 requests without a key, 1,500 with a random key each (each a database
lookup), 800 ``/readyz`` and 1,000 random webhook paths, all answered without a 429. Now
requests without a key are limited per client address, failed key lookups too (a client past
its limit is refused before its next key is looked up), and an unknown key is remembered so
that repeating it costs no lookup. Limits here are tiny so the tests stay fast.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import event

from reporunner.platform.api.app import create_app
from reporunner.platform.api.clients import NegativeKeyCache, client_address
from reporunner.platform.settings import load_settings


def _scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 4242), "headers": headers}


def test_client_address_trusts_forwarded_for_only_from_trusted_proxies() -> None:
    spoofed = _scope("203.0.113.9", "1.2.3.4")
    assert client_address(spoofed, "") == "203.0.113.9"  # no proxy trusted: the peer
    assert client_address(spoofed, "10.0.0.0/8") == "203.0.113.9"  # the peer is no proxy
    behind = _scope("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1")
    # the right-most hop that is not a trusted proxy; the left ones are the client's to forge
    assert client_address(behind, "10.0.0.0/8") == "198.51.100.7"


def test_negative_cache_expires_and_is_bounded() -> None:
    cache = NegativeKeyCache(ttl=60, size=2)
    for digest in ("a", "b", "c"):
        cache.add(digest)
    assert not cache.known_bad("a")  # pushed out by the bound
    assert cache.known_bad("c")
    cache.forget("c")
    assert not cache.known_bad("c")


async def test_a_repeated_unknown_key_costs_no_lookup(services: Any) -> None:
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        anonymous_rate_limit_per_minute=100_000,
    )
    app = create_app(settings)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async with AsyncTestClient(app) as http:
        engine = app.state.resources.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            bad = {"Authorization": f"Bearer rr_bad_{uuid.uuid4().hex}"}
            first = await http.get("/workspace", headers=bad)
            looked_up = len(statements)
            again = await http.get("/workspace", headers=bad)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert first.status_code == 401
    assert again.status_code == 401
    assert looked_up >= 1
    assert len(statements) == looked_up  # the repeated unknown key cost no lookup


async def test_failed_lookups_and_keyless_requests_get_429_per_client(services: Any) -> None:
    limit = 5
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        anonymous_rate_limit_per_minute=limit,
    )
    async with AsyncTestClient(create_app(settings)) as http:
        # the test client's address is fixed, so both buckets start where earlier runs of
        # this minute left them: count answers, the first 429 must come within limit + 1
        answers = []
        for _ in range(limit + 2):
            token = f"rr_{uuid.uuid4().hex[:8]}_{uuid.uuid4().hex}"
            answers.append(
                await http.get("/workspace", headers={"Authorization": f"Bearer {token}"})
            )
        codes = [a.status_code for a in answers]
        assert set(codes) <= {401, 429}, codes
        assert codes[-1] == 429, codes  # random keys: refused before the lookup
        assert answers[-1].headers["retry-after"].isdigit()
        assert "unknown API keys" in answers[-1].json()["detail"]
        probes = [(await http.get("/readyz")).status_code for _ in range(limit + 2)]
        assert probes[-1] == 429, probes
        hooks = [
            (await http.post(f"/hooks/nobody/{uuid.uuid4().hex}", json={})).status_code
            for _ in range(limit + 2)
        ]
        assert hooks[-1] == 429, hooks
