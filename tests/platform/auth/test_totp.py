"""Two-factor authentication (TOTP): enrolment, sign-in with a code, a reused code refused,
recovery codes used once, throttling, the instance setting that requires it, and the secret
sealed at rest. The server's clock is frozen (``frozen_totp_clock``): codes are computed by
``pyotp`` for exact time steps, never raced against a turning 30-second window."""

from __future__ import annotations

import types
from typing import Any

import psycopg
import pyotp
import pytest
from litestar.testing import AsyncTestClient
from signin_testkit import PASSWORD, browser, make_member, sign_in

from reporunner.platform.signin import totp as totp_module

STEP = 30


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """The TOTP module's clock, standing in the middle of a time step until a test moves it."""
    import time

    clock = types.SimpleNamespace(now=(time.time() // STEP) * STEP + STEP / 2)
    monkeypatch.setattr(totp_module, "time", types.SimpleNamespace(time=lambda: clock.now))
    return clock


def _csrf(me: dict[str, Any]) -> dict[str, str]:
    return {"X-CSRF-Token": me["csrf_token"]}


async def _enrol(client: AsyncTestClient, me: dict[str, Any], now: float) -> tuple[str, list[str]]:
    """Turn TOTP on for the signed-in user; the secret and the recovery codes."""
    started = await client.post("/auth/totp/enrol", headers=_csrf(me))
    assert started.status_code == 200, started.text
    body = started.json()
    secret = body["secret"]
    assert body["otpauth_uri"].startswith("otpauth://totp/reporunner:")
    assert f"secret={secret}" in body["otpauth_uri"]
    assert body["qr_svg"].lstrip().startswith("<svg")
    code = pyotp.TOTP(secret).at(now)
    done = await client.post("/auth/totp/confirm", json={"code": code}, headers=_csrf(me))
    assert done.status_code == 200, done.text
    codes = done.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    return secret, codes


async def _login(client: AsyncTestClient, email: str, **extra: str) -> Any:
    return await client.post("/auth/login", json={"email": email, "password": PASSWORD, **extra})


async def test_enrol_then_sign_in_needs_a_fresh_code(settings, services, clock) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        assert me["must_enrol_second_factor"] is False
        assert (await client.get("/auth/totp")).json()["enabled"] is False
        secret, _codes = await _enrol(client, me, clock.now)
        status = (await client.get("/auth/totp")).json()
        assert status["enabled"] is True
        assert status["recovery_codes_left"] == 10
    totp = pyotp.TOTP(secret)
    async with browser(settings) as client:
        needs = await _login(client, member.email)
        assert needs.status_code == 401
        assert needs.json()["code"] == "second_factor_required"
        assert "set-cookie" not in needs.headers
        # the code that confirmed the enrolment is spent: its time step is used
        reused = await _login(client, member.email, totp_code=totp.at(clock.now))
        assert reused.status_code == 401
        assert reused.json()["code"] == "wrong_second_factor"
        clock.now += STEP
        fresh = totp.at(clock.now)
        ok = await _login(client, member.email, totp_code=fresh)
        assert ok.status_code == 200, ok.text
        assert (await client.get("/auth/me")).status_code == 200
    async with browser(settings) as other:  # the same code from another browser: refused
        again = await _login(other, member.email, totp_code=fresh)
        assert again.status_code == 401
        assert again.json()["code"] == "wrong_second_factor"
        # a code one step ahead (phone clock drift) passes; an older one no longer does
        assert (await _login(other, member.email, totp_code=totp.at(clock.now + STEP))).is_success
        older = await _login(other, member.email, totp_code=totp.at(clock.now))
        assert older.status_code == 401
        # two steps away is outside the window
        far = await _login(other, member.email, totp_code=totp.at(clock.now + 3 * STEP))
        assert far.status_code == 401
        wrong_password = await _login(
            other, member.email, password="not the password", totp_code=totp.at(clock.now)
        )
        assert wrong_password.status_code == 401


async def test_recovery_code_works_once(settings, services, clock) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        _secret, codes = await _enrol(client, me, clock.now)
    async with browser(settings) as client:
        ok = await _login(client, member.email, recovery_code=codes[3].upper().replace("-", " "))
        assert ok.status_code == 200, ok.text
        left = (await client.get("/auth/totp")).json()["recovery_codes_left"]
        assert left == 9
        audit = await client.get("/audit", params={"action": "totp.*"}, headers=member.headers)
        actions = [e["action"] for e in audit.json()["items"]]
        assert actions == ["totp.recovery_code_used", "totp.enabled"]
    async with browser(settings) as client:
        used = await _login(client, member.email, recovery_code=codes[3])
        assert used.status_code == 401
        assert used.json()["code"] == "wrong_second_factor"
        unknown = await _login(client, member.email, recovery_code="aaaa-bbbb-cccc-dddd")
        assert unknown.status_code == 401


async def test_secret_is_sealed_at_rest_and_codes_hashed(settings, services, clock) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        secret, codes = await _enrol(client, me, clock.now)
    with psycopg.connect(services.pg_dsn) as conn:
        row = conn.execute(
            "SELECT ciphertext, key_id FROM totp_secrets WHERE user_id = %s", (member.user_id,)
        ).fetchone()
        hashes = conn.execute(
            "SELECT code_hash FROM recovery_codes WHERE user_id = %s", (member.user_id,)
        ).fetchall()
    assert row is not None
    assert secret.encode() not in bytes(row[0])
    assert len(hashes) == 10
    assert not {c.replace("-", "") for c in codes} & {h[0] for h in hashes}


async def test_wrong_codes_are_throttled_like_passwords(settings, services, clock) -> None:
    member = await make_member(services.database_url)
    limited = settings.model_copy(
        update={"signin_failures_per_account": 3, "signin_failures_per_ip": 0}
    )
    async with browser(limited) as client:
        me = await sign_in(client, member.email)
        secret, _codes = await _enrol(client, me, clock.now)
    clock.now += STEP
    async with browser(limited) as client:
        results = [
            (await _login(client, member.email, totp_code="000000")).status_code for _ in range(3)
        ]
        assert results == [401, 401, 401]
        refused = await _login(client, member.email, totp_code=pyotp.TOTP(secret).at(clock.now))
        assert refused.status_code == 429


async def test_hostile_inputs_name_the_field(settings, services, clock) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        for bad in ("12345", "1234567", "abcdef", "12 456", "\uff11\uff12\uff13\uff14\uff15\uff16"):
            response = await _login(client, member.email, totp_code=bad)
            assert response.status_code == 400, (bad, response.text)
            assert "totp_code" in response.text
        assert (await _login(client, member.email, recovery_code="x" * 65)).status_code == 400
        # confirming before enrolling, or with a wrong code
        early = await client.post("/auth/totp/confirm", json={"code": "123456"}, headers=_csrf(me))
        assert early.status_code == 404
        assert (await client.post("/auth/totp/enrol", headers=_csrf(me))).status_code == 200
        wrong = await client.post("/auth/totp/confirm", json={"code": "000000"}, headers=_csrf(me))
        assert wrong.status_code == 422
        assert [p["pointer"] for p in wrong.json()["problems"]] == ["/code"]
        extra = await client.post(
            "/auth/totp/confirm", json={"code": "123456", "secret": "X"}, headers=_csrf(me)
        )
        assert extra.status_code == 400
        no_csrf = await client.post("/auth/totp/enrol")
        assert no_csrf.status_code == 403
    async with browser(settings) as anonymous:
        assert (await anonymous.post("/auth/totp/enrol")).status_code == 401


async def test_turning_it_off_and_renewing_recovery_codes_need_a_code(
    settings, services, clock
) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        secret, codes = await _enrol(client, me, clock.now)
        again = await client.post("/auth/totp/enrol", headers=_csrf(me))
        assert again.status_code == 409
        wrong = await client.post("/auth/totp/disable", json={"code": "000000"}, headers=_csrf(me))
        assert wrong.status_code == 422
        clock.now += STEP
        code = pyotp.TOTP(secret).at(clock.now)
        renewed = await client.post(
            "/auth/totp/recovery-codes", json={"code": codes[0]}, headers=_csrf(me)
        )
        assert renewed.status_code == 200, renewed.text
        fresh = renewed.json()["recovery_codes"]
        assert len(fresh) == 10
        assert not set(fresh) & set(codes)
        stale = await client.post(
            "/auth/totp/recovery-codes", json={"code": codes[1]}, headers=_csrf(me)
        )
        assert stale.status_code == 422  # the old codes stopped working
        off = await client.post("/auth/totp/disable", json={"code": code}, headers=_csrf(me))
        assert off.status_code == 204, off.text
        assert (await client.get("/auth/totp")).json()["enabled"] is False
    async with browser(settings) as client:
        assert (await _login(client, member.email)).status_code == 200


async def test_instance_can_require_it(settings, services, clock) -> None:
    required = settings.model_copy(update={"totp_required": True})
    member = await make_member(services.database_url)
    async with browser(required) as client:
        me = await sign_in(client, member.email)
        assert me["must_enrol_second_factor"] is True
        refused = await client.get("/workflows")
        assert refused.status_code == 403
        assert refused.json()["code"] == "second_factor_enrolment_required"
        assert (await client.get("/auth/me")).json()["must_enrol_second_factor"] is True
        assert (await client.get("/auth/totp")).json()["required"] is True
        # the API key of the same user is not held back
        assert (await client.get("/workflows", headers=member.headers)).status_code == 200
        await _enrol(client, me, clock.now)
        assert (await client.get("/workflows")).status_code == 200
        assert (await client.get("/auth/me")).json()["must_enrol_second_factor"] is False


async def test_rotate_key_reseals_totp_secrets(settings, services, clock) -> None:
    import os

    from sqlalchemy import select

    from reporunner.platform.db.models import TotpSecret
    from reporunner.platform.db.session import create_engine, session_factory
    from reporunner.platform.vault import Keyring, MasterKey, keyring_from_settings

    member = await make_member(services.database_url)
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        secret, _codes = await _enrol(client, me, clock.now)
    old = keyring_from_settings(settings)
    rotated = Keyring(MasterKey("rotated-key", os.urandom(32)), (old.current,))
    engine = create_engine(services.database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            assert await totp_module.rotate_totp_secrets(session, rotated) >= 1
        async with session_factory(engine)() as session:
            row = await session.scalar(
                select(TotpSecret).where(TotpSecret.user_id == member.user_id)
            )
            assert row is not None
            assert row.key_id == "rotated-key"
            assert totp_module._secret(rotated, row) == secret
    finally:
        # back to the key of the session's settings, for the TOTP rows of other tests
        async with session_factory(engine)() as session, session.begin():
            back = Keyring(old.current, (rotated.current,))
            await totp_module.rotate_totp_secrets(session, back)
        await engine.dispose()
