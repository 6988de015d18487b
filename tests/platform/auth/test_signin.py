"""Browser sign-in: set-up link, login/logout/me, cookie flags, CSRF, roles and isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from signin_testkit import (
    PASSWORD,
    browser,
    make_member,
    make_setup_link,
    sign_in,
    unique_email,
)
from sqlalchemy import select

from reporunner.platform.auth import SETUP_TTL
from reporunner.platform.auth.tokens import hash_token
from reporunner.platform.db.models import BrowserSession, User
from reporunner.platform.db.session import create_engine, session_factory

DEFINITION: dict[str, Any] = {
    "name": "greet",
    "nodes": [{"id": "start", "type": "trigger.manual"}],
    "edges": [],
}


def _set_cookie(response: Any) -> str:
    values = response.headers.get_list("set-cookie")
    assert len(values) == 1, values
    return str(values[0])


async def test_setup_link_signs_the_owner_in_once(settings, services) -> None:
    owner, token = await make_setup_link(services.database_url)
    email = unique_email("Owner").upper()
    async with browser(settings) as client:
        info = await client.get(f"/auth/setup/{token}")
        assert info.status_code == 200, info.text
        assert info.json()["workspace"]["slug"] == owner.slug
        expires = datetime.fromisoformat(info.json()["expires_at"])
        assert timedelta(hours=23) < expires - datetime.now(UTC) <= SETUP_TTL
        body = {"token": token, "email": email, "password": PASSWORD, "name": "Ada"}
        done = await client.post("/auth/setup", json=body)
        assert done.status_code == 200, done.text
        me = done.json()
        assert me["user"] == {"id": str(owner.user_id), "email": email.lower(), "name": "Ada"}
        assert me["role"] == "owner"
        assert me["workspace"]["id"] == str(owner.workspace_id)
        assert me["csrf_token"]
        assert "rr_session=" in _set_cookie(done)
        assert (await client.get("/auth/me")).json() == me
        # single use: the link is gone, for reading and for using
        assert (await client.get(f"/auth/setup/{token}")).status_code == 404
        again = await client.post("/auth/setup", json={**body, "email": unique_email()})
        assert again.status_code == 404
        assert "already used" in again.json()["detail"]
    # the chosen password signs in from another browser; the owner's API key still works
    async with browser(settings) as other:
        assert (await sign_in(other, email.lower()))["user"]["id"] == str(owner.user_id)
        assert (await other.get("/workspace", headers=owner.headers)).status_code == 200


async def test_expired_setup_link_is_410(settings, services) -> None:
    _owner, token = await make_setup_link(services.database_url)
    with psycopg.connect(services.pg_dsn) as conn:
        conn.execute(
            "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' "
            "WHERE token_hash = %s",
            (hash_token(token),),
        )
    async with browser(settings) as client:
        info = await client.get(f"/auth/setup/{token}")
        used = await client.post(
            "/auth/setup", json={"token": token, "email": unique_email(), "password": PASSWORD}
        )
        unknown = await client.get("/auth/setup/not-a-token")
    assert info.status_code == 410
    assert "expired" in info.json()["detail"]
    assert used.status_code == 410
    assert unknown.status_code == 404


async def test_setup_refuses_short_password_and_taken_email(settings, services) -> None:
    other = await make_member(services.database_url)
    _owner, token = await make_setup_link(services.database_url)
    async with browser(settings) as client:
        short = await client.post(
            "/auth/setup", json={"token": token, "email": unique_email(), "password": "short"}
        )
        taken = await client.post(
            "/auth/setup",
            json={"token": token, "email": other.email.upper(), "password": PASSWORD},
        )
        still_valid = await client.get(f"/auth/setup/{token}")
    assert short.status_code == 400
    assert short.headers["content-type"].startswith("application/problem+json")
    assert "/password" in short.json()["detail"]
    assert "10 characters" in short.json()["detail"]
    assert taken.status_code == 409
    assert taken.json()["detail"].startswith("email:")
    assert still_valid.status_code == 200  # a refused attempt does not use the link up


async def test_login_me_logout(settings, services) -> None:
    member = await make_member(services.database_url, role="editor")
    async with browser(settings) as client:
        assert (await client.get("/auth/me")).status_code == 401
        me = await sign_in(client, member.email.upper())
        assert me["role"] == "editor"
        assert me["user"]["email"] == member.email
        assert (await client.get("/auth/me")).json()["csrf_token"] == me["csrf_token"]
        # a plain API route works with the cookie
        assert (await client.get("/workflows")).status_code == 200
        out = await client.post("/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})
        assert out.status_code == 204
        cleared = _set_cookie(out)
        assert "rr_session=" in cleared
        assert "Max-Age=0" in cleared or "max-age=0" in cleared.lower()
        assert (await client.get("/auth/me")).status_code == 401
    engine = create_engine(services.database_url, pool_size=1)
    async with session_factory(engine)() as session:
        left = (
            await session.execute(
                select(BrowserSession).where(BrowserSession.user_id == member.user_id)
            )
        ).all()
    await engine.dispose()
    assert left == []


async def test_logout_row_is_deleted_and_old_cookie_is_refused(settings, services) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        token = client.cookies["rr_session"]
        await client.post("/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    async with browser(settings) as replay:
        replay.cookies.set("rr_session", token)
        response = await replay.get("/auth/me")
    assert response.status_code == 401
    assert "session" in response.json()["detail"]


async def test_wrong_password_unknown_email_and_no_password_are_one_401(settings, services):
    member = await make_member(services.database_url)
    keys_only = await make_member(services.database_url, password=None)
    async with browser(settings) as client:
        answers = [
            await client.post("/auth/login", json={"email": e, "password": p})
            for e, p in (
                (member.email, PASSWORD + "x"),
                (unique_email(), PASSWORD),
                (keys_only.email, PASSWORD),
            )
        ]
        assert (await client.get("/auth/me")).status_code == 401
    for response in answers:
        assert response.status_code == 401
        assert response.json()["detail"] == "wrong email or password"
        assert "set-cookie" not in response.headers


async def test_expired_sessions_are_401(settings, services) -> None:
    hard, idle = await make_member(services.database_url), await make_member(services.database_url)
    async with browser(settings) as first, browser(settings) as second:
        await sign_in(first, hard.email)
        await sign_in(second, idle.email)
        past = datetime.now(UTC) - timedelta(seconds=1)
        stale = datetime.now(UTC) - timedelta(hours=settings.session_ttl_hours, seconds=1)
        with psycopg.connect(services.pg_dsn) as conn:
            conn.execute(
                "UPDATE browser_sessions SET expires_at = %s WHERE user_id = %s",
                (past, hard.user_id),
            )
            conn.execute(
                "UPDATE browser_sessions SET last_seen_at = %s WHERE user_id = %s",
                (stale, idle.user_id),
            )
        for client in (first, second):
            response = await client.get("/auth/me")
            assert response.status_code == 401
            assert "expired" in response.json()["detail"]


async def test_cookie_flags(settings, services) -> None:
    member = await make_member(services.database_url)
    body = {"email": member.email, "password": PASSWORD}
    async with browser(settings) as plain:
        cookie = _set_cookie(await plain.post("/auth/login", json=body))
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs
    assert "samesite=lax" in attrs
    assert "path=/" in attrs
    assert "secure" not in attrs
    async with browser(settings, base_url="https://testserver.local") as tls:
        assert "secure" in _set_cookie(await tls.post("/auth/login", json=body)).lower()
    # X-Forwarded-Proto counts only when a trusted proxy is configured
    forwarded = {"X-Forwarded-Proto": "https"}
    async with browser(settings) as spoofed:
        cookie = _set_cookie(await spoofed.post("/auth/login", json=body, headers=forwarded))
        assert "secure" not in cookie.lower()
    trusted = settings.model_copy(update={"trust_proxy_headers": True})
    async with browser(trusted) as proxied:
        cookie = _set_cookie(await proxied.post("/auth/login", json=body, headers=forwarded))
        assert "secure" in cookie.lower()


async def test_csrf_needed_for_unsafe_methods_with_the_cookie(settings, services) -> None:
    member = await make_member(services.database_url, role="editor")
    async with browser(settings) as client:
        me = await sign_in(client, member.email)
        content = json.dumps(DEFINITION)
        missing = await client.post("/workflows", content=content)
        wrong = await client.post(
            "/workflows", content=content, headers={"X-CSRF-Token": me["csrf_token"] + "x"}
        )
        right = await client.post(
            "/workflows", content=content, headers={"X-CSRF-Token": me["csrf_token"]}
        )
        logout = await client.post("/auth/logout")  # sign-out needs it too
        reads = await client.get("/workflows")  # safe methods do not
    for refused in (missing, wrong, logout):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "X-CSRF-Token" in refused.json()["detail"]
    assert right.status_code == 201, right.text
    assert reads.status_code == 200
    assert [w["name"] for w in reads.json()] == ["greet"]


async def test_api_keys_need_no_csrf_and_win_over_cookies(settings, services) -> None:
    editor = await make_member(services.database_url, role="editor")
    viewer = await make_member(services.database_url, role="viewer")
    async with browser(settings) as client:
        await sign_in(client, viewer.email)
        # a bearer key decides, even with a (viewer's) cookie beside it, and needs no CSRF
        created = await client.post(
            "/workflows", content=json.dumps(DEFINITION), headers=editor.headers
        )
        assert created.status_code == 201, created.text
        me = await client.get("/auth/me", headers=editor.headers)
    assert me.json()["role"] == "editor"
    assert me.json()["csrf_token"] is None


async def test_viewer_session_cannot_save(settings, services) -> None:
    editor = await make_member(services.database_url, role="editor")
    viewer = await make_member(
        services.database_url, role="viewer", workspace_id=editor.workspace_id
    )
    created = None
    async with browser(settings) as ed:
        me = await sign_in(ed, editor.email)
        created = await ed.post(
            "/workflows", content=json.dumps(DEFINITION), headers={"X-CSRF-Token": me["csrf_token"]}
        )
        assert created.status_code == 201
    workflow_id = created.json()["workflow"]["id"]
    async with browser(settings) as vw:
        me = await sign_in(vw, viewer.email)
        assert me["role"] == "viewer"
        assert (await vw.get(f"/workflows/{workflow_id}")).status_code == 200
        save = await vw.post(
            f"/workflows/{workflow_id}/versions",
            content=json.dumps({**DEFINITION, "name": "changed"}),
            headers={"X-CSRF-Token": me["csrf_token"]},
        )
    assert save.status_code == 403
    assert "'editor' role" in save.json()["detail"]


async def test_role_change_applies_to_a_live_session(settings, services) -> None:
    owner = await make_member(services.database_url)
    editor = await make_member(
        services.database_url, role="editor", workspace_id=owner.workspace_id
    )
    async with browser(settings) as client:
        await sign_in(client, editor.email)
        changed = await client.patch(
            f"/workspace/members/{editor.user_id}", json={"role": "viewer"}, headers=owner.headers
        )
        assert changed.status_code == 200
        assert (await client.get("/auth/me")).json()["role"] == "viewer"
        await client.delete(f"/workspace/members/{editor.user_id}", headers=owner.headers)
        assert (await client.get("/auth/me")).status_code == 401


async def test_workspace_isolation_through_cookies(settings, services) -> None:
    a, b = await make_member(services.database_url), await make_member(services.database_url)
    async with browser(settings) as ca, browser(settings) as cb:
        me_a, me_b = await sign_in(ca, a.email), await sign_in(cb, b.email)
        csrf_a = {"X-CSRF-Token": me_a["csrf_token"]}
        created = await ca.post("/workflows", content=json.dumps(DEFINITION), headers=csrf_a)
        workflow_id = created.json()["workflow"]["id"]
        assert (await cb.get("/workflows")).json() == []
        assert (await cb.get(f"/workflows/{workflow_id}")).status_code == 404
        delete = await cb.delete(
            f"/workflows/{workflow_id}", headers={"X-CSRF-Token": me_b["csrf_token"]}
        )
        assert delete.status_code == 404
        # b's CSRF token is no use with a's cookie
        crossed = await ca.delete(
            f"/workflows/{workflow_id}", headers={"X-CSRF-Token": me_b["csrf_token"]}
        )
        assert crossed.status_code == 403
        assert (await ca.get(f"/workflows/{workflow_id}")).status_code == 200


async def test_session_tokens_are_stored_hashed(settings, services) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        await sign_in(client, member.email)
        token = client.cookies["rr_session"]
    engine = create_engine(services.database_url, pool_size=1)
    async with session_factory(engine)() as session:
        row = (
            await session.execute(
                select(BrowserSession).where(BrowserSession.user_id == member.user_id)
            )
        ).scalar_one()
        user = await session.get(User, member.user_id)
    await engine.dispose()
    assert row.token_hash == hash_token(token) != token
    assert user is not None
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")


async def test_signing_in_again_ends_the_old_and_stale_sessions(settings, services) -> None:
    member = await make_member(services.database_url)
    async with browser(settings) as client, browser(settings) as elsewhere:
        await sign_in(client, member.email)
        first = client.cookies["rr_session"]
        await sign_in(elsewhere, member.email)
        with psycopg.connect(services.pg_dsn) as conn:  # the other browser's session goes idle
            conn.execute(
                "UPDATE browser_sessions SET last_seen_at = now() - interval '1000 hours' "
                "WHERE user_id = %s AND token_hash <> %s",
                (member.user_id, hash_token(first)),
            )
        await sign_in(client, member.email)
        second = client.cookies["rr_session"]
    assert second != first
    with psycopg.connect(services.pg_dsn) as conn:
        rows = conn.execute(
            "SELECT token_hash FROM browser_sessions WHERE user_id = %s", (member.user_id,)
        ).fetchall()
    assert rows == [(hash_token(second),)]
