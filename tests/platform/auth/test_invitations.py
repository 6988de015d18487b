"""Invitations: admins invite, never above their own role; links are single use."""

from __future__ import annotations

import psycopg
from signin_testkit import PASSWORD, browser, make_member, sign_in, unique_email

from reporunner.platform.auth.tokens import hash_token


def _token(url: str) -> str:
    return url.split("token=", 1)[1]


async def test_admin_invites_an_editor_who_signs_in(settings, services) -> None:
    owner = await make_member(services.database_url)
    admin = await make_member(services.database_url, role="admin", workspace_id=owner.workspace_id)
    email = unique_email("New")
    async with browser(settings) as admin_browser:
        me = await sign_in(admin_browser, admin.email)
        created = await admin_browser.post(
            "/workspace/invitations",
            json={"email": email, "role": "editor"},
            headers={"X-CSRF-Token": me["csrf_token"]},
        )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == email.lower()
    assert body["role"] == "editor"
    assert body["url"].startswith("http://testserver.local/invite?token=")
    token = _token(body["url"])
    async with browser(settings) as invitee:
        info = await invitee.get(f"/auth/invitations/{token}")
        assert info.status_code == 200
        assert info.json()["email"] == email.lower()
        assert info.json()["role"] == "editor"
        assert info.json()["workspace"]["id"] == str(owner.workspace_id)
        accepted = await invitee.post(
            "/auth/invitations/accept", json={"token": token, "password": PASSWORD, "name": "Bo"}
        )
        assert accepted.status_code == 200, accepted.text
        me = accepted.json()
        assert me["role"] == "editor"
        assert me["user"]["name"] == "Bo"
        assert me["workspace"]["id"] == str(owner.workspace_id)
        assert (await invitee.get("/auth/me")).status_code == 200
        # single use
        again = await invitee.post(
            "/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert again.status_code == 404
        assert (await invitee.get(f"/auth/invitations/{token}")).status_code == 404
    members = await _members(owner, settings)
    assert members[email.lower()] == "editor"
    async with browser(settings) as later:
        assert (await sign_in(later, email))["role"] == "editor"


async def _members(owner, settings) -> dict[str, str]:
    async with browser(settings) as client:
        response = await client.get("/workspace/members", headers=owner.headers)
    return {m["email"]: m["role"] for m in response.json()}


async def test_no_one_invites_above_their_role(settings, services) -> None:
    owner = await make_member(services.database_url)
    admin = await make_member(services.database_url, role="admin", workspace_id=owner.workspace_id)
    editor = await make_member(
        services.database_url, role="editor", workspace_id=owner.workspace_id
    )
    async with browser(settings) as client:
        as_admin = await client.post(
            "/workspace/invitations",
            json={"email": unique_email(), "role": "owner"},
            headers=admin.headers,
        )
        as_editor = await client.post(
            "/workspace/invitations",
            json={"email": unique_email(), "role": "viewer"},
            headers=editor.headers,
        )
        as_owner = await client.post(
            "/workspace/invitations",
            json={"email": unique_email(), "role": "owner"},
            headers=owner.headers,
        )
    assert as_admin.status_code == 403
    assert "cannot invite someone as 'owner'" in as_admin.json()["detail"]
    assert as_editor.status_code == 403
    assert "'admin' role" in as_editor.json()["detail"]
    assert as_owner.status_code == 201


async def test_existing_accounts_cannot_be_invited(settings, services) -> None:
    """Else an admin could set the password of an existing (maybe higher) user."""
    owner = await make_member(services.database_url)
    elsewhere = await make_member(services.database_url, password=None)
    async with browser(settings) as client:
        response = await client.post(
            "/workspace/invitations",
            json={"email": elsewhere.email.upper(), "role": "viewer"},
            headers=owner.headers,
        )
    assert response.status_code == 409
    assert response.json()["detail"].startswith("email:")


async def test_expired_and_unknown_invitations(settings, services) -> None:
    owner = await make_member(services.database_url)
    async with browser(settings) as client:
        created = await client.post(
            "/workspace/invitations",
            json={"email": unique_email(), "role": "viewer"},
            headers=owner.headers,
        )
        token = _token(created.json()["url"])
        with psycopg.connect(services.pg_dsn) as conn:
            conn.execute(
                "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' "
                "WHERE token_hash = %s",
                (hash_token(token),),
            )
        expired = await client.post(
            "/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        unknown = await client.get("/auth/invitations/nope")
        # a set-up token is not an invitation, nor the other way round
        as_setup = await client.get(f"/auth/setup/{token}")
    assert expired.status_code == 410
    assert "ask an admin" in expired.json()["detail"]
    assert unknown.status_code == 404
    assert as_setup.status_code == 404


async def test_invitation_tokens_are_stored_hashed(settings, services) -> None:
    owner = await make_member(services.database_url)
    async with browser(settings) as client:
        created = await client.post(
            "/workspace/invitations",
            json={"email": unique_email(), "role": "viewer"},
            headers=owner.headers,
        )
    token = _token(created.json()["url"])
    with psycopg.connect(services.pg_dsn) as conn:
        rows = conn.execute(
            "SELECT token_hash FROM one_time_tokens WHERE workspace_id = %s",
            (owner.workspace_id,),
        ).fetchall()
    assert rows == [(hash_token(token),)]
