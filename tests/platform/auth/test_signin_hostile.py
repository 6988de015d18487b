"""Hostile input to sign-in: huge bodies, SQL-ish and unicode addresses, wrong types."""

from __future__ import annotations

import json
import unicodedata

from signin_testkit import PASSWORD, browser, make_member, make_setup_link, sign_in


async def test_huge_password_bodies_are_refused_before_hashing(settings, services) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        huge = json.dumps({"email": member.email, "password": "x" * (10 * 1024 * 1024)})
        too_big = await client.post(
            "/auth/login", content=huge, headers={"Content-Type": "application/json"}
        )
        long = await client.post(
            "/auth/login", json={"email": member.email, "password": "y" * 5000}
        )
    assert too_big.status_code == 413
    assert too_big.headers["content-type"].startswith("application/problem+json")
    assert long.status_code == 400
    assert "/password" in long.json()["detail"]


async def test_sql_ish_and_malformed_emails(settings, services) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        for email in (
            "x' OR '1'='1",
            f"{member.email}' --",
            "' OR 1=1; DROP TABLE users; --@example.test",
            "%@example.test",
            "_@example.test",
        ):
            response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
            assert response.status_code == 401, (email, response.text)
            assert response.json()["detail"] == "wrong email or password"
        for body in ({"email": 1, "password": PASSWORD}, {"email": member.email}, [], "x"):
            response = await client.post("/auth/login", json=body)
            assert response.status_code == 400, body
            assert response.headers["content-type"].startswith("application/problem+json")
        extra = await client.post(
            "/auth/login", json={"email": member.email, "password": PASSWORD, "role": "owner"}
        )
        assert extra.status_code == 400
        # the member is still fine (the table is still there)
        assert (await sign_in(client, member.email))["role"] == "owner"


async def test_unicode_email_and_password(settings, services) -> None:
    _owner, token = await make_setup_link(services.database_url)
    email = "Zoë.Ünal@Exämple.test"
    password = "pässwörd ✓ 日本語 ok"
    async with browser(settings) as client:
        done = await client.post(
            "/auth/setup", json={"token": token, "email": email, "password": password}
        )
        assert done.status_code == 200, done.text
        assert done.json()["user"]["email"] == email.lower()
    async with browser(settings) as client:
        # a differently composed (NFD) form of the same password still matches
        decomposed = unicodedata.normalize("NFD", password)
        assert decomposed != password
        response = await client.post(
            "/auth/login", json={"email": email.upper(), "password": decomposed}
        )
        assert response.status_code == 200, response.text
        wrong = await client.post(
            "/auth/login", json={"email": email, "password": password.replace("✓", "x")}
        )
        assert wrong.status_code == 401


async def test_forged_and_oversized_cookies_are_401(settings, services) -> None:
    async with browser(settings) as client:
        for value in ("forged", "x" * 4000, "' OR 1=1 --", "%C3%A9t%C3%A9", "a;b=c"):
            client.cookies.set("rr_session", value)
            response = await client.get("/auth/me")
            assert response.status_code == 401, value
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_form_posts_cannot_sign_in(settings, services) -> None:
    """A cross-site form can send text/plain that parses as JSON (login CSRF): refused."""
    member = await make_member(services.database_url)
    body = json.dumps({"email": member.email, "password": PASSWORD})
    async with browser(settings) as client:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
            response = await client.post(
                "/auth/login", content=body, headers={"Content-Type": content_type}
            )
            assert response.status_code == 415, content_type
            assert "application/json" in response.json()["detail"]
            assert "set-cookie" not in response.headers
