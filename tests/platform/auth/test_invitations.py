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


async def _invite(settings, inviter, email: str, role: str):
    async with browser(settings) as client:
        return await client.post(
            "/workspace/invitations", json={"email": email, "role": role}, headers=inviter.headers
        )


async def _audit(services, workspace_id) -> list[tuple[str, dict]]:
    with psycopg.connect(services.pg_dsn) as conn:
        rows = conn.execute(
            "SELECT action, data FROM audit_log WHERE workspace_id = %s "
            "AND action LIKE 'invitation.%%' ORDER BY created_at",
            (workspace_id,),
        ).fetchall()
    return [(a, d) for a, d in rows]


async def test_an_existing_user_joins_with_their_own_password(settings, services) -> None:
    """The account's password is asked for and never changed: an admin who invites an
    existing (maybe higher) user can neither set nor learn it."""
    owner = await make_member(services.database_url)
    admin = await make_member(services.database_url, role="admin", workspace_id=owner.workspace_id)
    elsewhere = await make_member(services.database_url, role="owner")  # owner of another
    created = await _invite(settings, admin, elsewhere.email.upper(), "editor")
    assert created.status_code == 201, created.text
    token = _token(created.json()["url"])
    async with browser(settings) as invitee:
        info = await invitee.get(f"/auth/invitations/{token}")
        assert info.json()["existing_account"] is True
        wrong = await invitee.post(
            "/auth/invitations/accept",
            json={"token": token, "password": "not the password at all", "name": "Mallory"},
        )
        assert wrong.status_code == 401, wrong.text
        assert "current password" in wrong.json()["detail"]
        accepted = await invitee.post(
            "/auth/invitations/accept", json={"token": token, "password": PASSWORD, "name": "X"}
        )
        assert accepted.status_code == 200, accepted.text
        me = accepted.json()
        assert (me["role"], me["workspace"]["id"]) == ("editor", str(owner.workspace_id))
        assert me["user"]["id"] == str(elsewhere.user_id)
        assert me["user"]["name"] != "X"  # an existing account keeps its name
        again = await invitee.post(
            "/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert again.status_code == 404
    assert (await _members(owner, settings))[elsewhere.email.lower()] == "editor"
    assert (await _members(elsewhere, settings))[elsewhere.email.lower()] == "owner"
    async with browser(settings) as later:  # the password is the one it had
        assert (await sign_in(later, elsewhere.email))["user"]["id"] == str(elsewhere.user_id)
    audit = await _audit(services, owner.workspace_id)
    assert [a for a, _ in audit] == ["invitation.created", "invitation.accepted"]
    created_data, accepted_data = audit[0][1], audit[1][1]
    assert created_data["existing_account"] is True
    assert created_data["ip"]
    assert accepted_data["ip"]
    assert accepted_data["invited_by"] == str(admin.user_id)


async def test_members_keys_only_accounts_and_password_guessing_are_refused(
    settings, services
) -> None:
    owner = await make_member(services.database_url)
    member = await make_member(
        services.database_url, role="viewer", workspace_id=owner.workspace_id
    )
    refused = await _invite(settings, owner, member.email, "admin")
    assert refused.status_code == 409  # a member's role changes with PATCH, not an invitation
    assert refused.json()["detail"].startswith("email:")
    keys_only = await make_member(services.database_url, password=None)
    created = await _invite(settings, owner, keys_only.email, "viewer")
    token = _token(created.json()["url"])
    async with browser(settings) as client:
        answer = await client.post(
            "/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
    assert answer.status_code == 409
    assert "API keys only" in answer.json()["detail"]
    # guessing an account's password through an invitation counts as failed sign-ins
    target = await make_member(services.database_url)
    tight = settings.model_copy(update={"signin_failures_per_account": 2})
    created = await _invite(tight, owner, target.email, "viewer")
    token = _token(created.json()["url"])
    async with browser(tight) as client:
        answers = [
            await client.post(
                "/auth/invitations/accept", json={"token": token, "password": f"guess number {i}"}
            )
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [401, 401, 429]
        # the owner of the account is refused too now, until the window passes
        blocked = await client.post(
            "/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
    assert blocked.status_code == 429
    assert target.email.lower() not in await _members(owner, settings)


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
