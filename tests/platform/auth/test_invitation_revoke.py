"""Pending invitations: admins list them and revoke them (the link stops working); nobody
revokes an invitation for a role above their own; other workspaces' invitations are unseen."""

from __future__ import annotations

import uuid

from signin_testkit import PASSWORD, browser, make_member, unique_email


def _token(url: str) -> str:
    return url.split("token=", 1)[1]


async def test_list_and_revoke_pending_invitations(settings, services) -> None:
    owner = await make_member(services.database_url)
    admin = await make_member(services.database_url, role="admin", workspace_id=owner.workspace_id)
    editor = await make_member(
        services.database_url, role="editor", workspace_id=owner.workspace_id
    )
    stranger = await make_member(services.database_url)
    async with browser(settings) as client:
        invited, accepted_email = unique_email("pending"), unique_email("accepts")
        pending = await client.post(
            "/workspace/invitations", json={"email": invited, "role": "editor"},
            headers=admin.headers,
        )  # fmt: skip
        to_accept = await client.post(
            "/workspace/invitations", json={"email": accepted_email}, headers=admin.headers
        )
        as_owner = await client.post(
            "/workspace/invitations", json={"email": unique_email("own"), "role": "owner"},
            headers=owner.headers,
        )  # fmt: skip
        assert {pending.status_code, to_accept.status_code, as_owner.status_code} == {201}
        accept = await client.post(
            "/auth/invitations/accept",
            json={"token": _token(to_accept.json()["url"]), "password": PASSWORD},
        )
        assert accept.status_code == 200, accept.text
        listed = await client.get("/workspace/invitations", headers=admin.headers)
        assert listed.status_code == 200, listed.text
        rows = {r["email"]: r for r in listed.json()}
        # the accepted one is no longer pending; no row carries a token or a link
        assert set(rows) == {invited.lower(), as_owner.json()["email"]}
        assert rows[invited.lower()]["role"] == "editor"
        assert rows[invited.lower()]["expired"] is False
        assert rows[invited.lower()]["created_by_user_id"] == str(admin.user_id)
        assert "token" not in listed.text
        assert _token(pending.json()["url"]) not in listed.text
        # an editor may not list them; another workspace sees none of them
        assert (
            await client.get("/workspace/invitations", headers=editor.headers)
        ).status_code == 403
        assert (await client.get("/workspace/invitations", headers=stranger.headers)).json() == []
        # an admin may not revoke the owner's invitation; a stranger gets 404
        owner_invite = f"/workspace/invitations/{as_owner.json()['id']}"
        too_high = await client.delete(owner_invite, headers=admin.headers)
        assert too_high.status_code == 403, too_high.text
        assert too_high.json()["code"] == "role_too_high" or "role" in too_high.json()["detail"]
        pending_path = f"/workspace/invitations/{pending.json()['id']}"
        assert (await client.delete(pending_path, headers=stranger.headers)).status_code == 404
        assert (await client.delete(pending_path, headers=editor.headers)).status_code == 403
        revoked = await client.delete(pending_path, headers=admin.headers)
        assert revoked.status_code == 204, revoked.text
        # the link is dead, a second revoke is 404, an id that is not a uuid is 404 too
        token = _token(pending.json()["url"])
        assert (await client.get(f"/auth/invitations/{token}")).status_code == 404
        late = await client.post(
            "/auth/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert late.status_code == 404
        assert (await client.delete(pending_path, headers=admin.headers)).status_code == 404
        missing = f"/workspace/invitations/{uuid.uuid4()}"
        assert (await client.delete(missing, headers=admin.headers)).status_code == 404
        assert (
            await client.delete("/workspace/invitations/<script>", headers=admin.headers)
        ).status_code == 404
        assert (await client.delete(owner_invite, headers=owner.headers)).status_code == 204
        assert (await client.get("/workspace/invitations", headers=admin.headers)).json() == []
        audit = await client.get(
            "/audit", params={"action": "invitation.revoked"}, headers=owner.headers
        )
    entries = audit.json()["items"]
    assert {(e["actor_user_id"], e["data"]["email"]) for e in entries} == {
        (str(admin.user_id), invited.lower()),
        (str(owner.user_id), as_owner.json()["email"]),
    }


async def test_audit_filters_by_actor(settings, services) -> None:
    owner = await make_member(services.database_url)
    admin = await make_member(services.database_url, role="admin", workspace_id=owner.workspace_id)
    async with browser(settings) as client:
        for who in (owner, admin, admin):
            made = await client.post("/api-keys", json={"name": who.role}, headers=who.headers)
            assert made.status_code == 201
        by_admin = await client.get(
            "/audit", params={"actor": str(admin.user_id)}, headers=owner.headers
        )
        by_nobody = await client.get(
            "/audit", params={"actor": str(uuid.uuid4())}, headers=owner.headers
        )
        bad = await client.get("/audit", params={"actor": "<b>x</b>"}, headers=owner.headers)
    assert by_admin.status_code == 200, by_admin.text
    items = by_admin.json()["items"]
    assert [e["data"]["name"] for e in items] == ["admin", "admin"]
    assert {e["actor_user_id"] for e in items} == {str(admin.user_id)}
    assert by_nobody.json()["items"] == []
    assert bad.status_code == 400
    assert "actor" in bad.text
    assert "<b>" not in bad.text
