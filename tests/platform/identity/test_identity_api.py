"""Members, API keys and the audit log over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy import update

from reporunner.platform.api.app import create_app
from reporunner.platform.db.models import ApiKey
from reporunner.platform.db.session import create_engine, session_factory


async def test_workspace_info_names_the_callers_role(settings, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/workspace", headers=editor.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == editor.slug
    assert body["role"] == "editor"
    assert body["member_count"] == 1


async def test_admin_adds_changes_and_removes_a_member(settings, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        added = await client.post(
            "/workspace/members",
            json={"email": f"new-{admin.slug}@example.test", "role": "editor"},
            headers=admin.headers,
        )
        assert added.status_code == 201, added.text
        member, key = added.json()["member"], added.json()["key"]
        new_headers = {"Authorization": f"Bearer {key}"}
        whoami = await client.get("/workspace", headers=new_headers)
        assert whoami.json()["role"] == "editor"

        again = await client.post(
            "/workspace/members", json={"email": member["email"]}, headers=admin.headers
        )
        assert again.status_code == 409

        changed = await client.patch(
            f"/workspace/members/{member['user_id']}", json={"role": "viewer"},
            headers=admin.headers,
        )  # fmt: skip
        assert changed.json()["role"] == "viewer"
        members = await client.get("/workspace/members", headers=new_headers)
        assert members.status_code == 200, members.text
        assert {m["role"] for m in members.json()} == {"admin", "viewer"}

        removed = await client.delete(
            f"/workspace/members/{member['user_id']}", headers=admin.headers
        )
        assert removed.status_code == 204
        assert (await client.get("/workspace", headers=new_headers)).status_code == 401

        audit = await client.get("/audit", params={"action": "member.*"}, headers=admin.headers)
    actions = [e["action"] for e in audit.json()["items"]]
    assert actions == ["member.removed", "member.role_changed", "member.added"]
    # who, what, when, and from which address (the test client's)
    assert {e["data"].get("ip") for e in audit.json()["items"]} == {"testclient"}


async def test_only_owners_touch_owners_and_the_last_owner_stays(settings, tenant_factory) -> None:
    owner = await tenant_factory(role="owner")
    async with AsyncTestClient(create_app(settings)) as client:
        admin = await client.post(
            "/workspace/members",
            json={"email": f"adm-{owner.slug}@example.test", "role": "admin"},
            headers=owner.headers,
        )
        admin_headers = {"Authorization": f"Bearer {admin.json()['key']}"}
        refused = await client.post(
            "/workspace/members",
            json={"email": f"o2-{owner.slug}@example.test", "role": "owner"},
            headers=admin_headers,
        )
        assert refused.status_code == 403
        assert "owner" in refused.json()["detail"]
        demote = await client.patch(
            f"/workspace/members/{owner.user_id}", json={"role": "viewer"}, headers=admin_headers
        )
        assert demote.status_code == 403
        last = await client.patch(
            f"/workspace/members/{owner.user_id}", json={"role": "admin"}, headers=owner.headers
        )
        assert last.status_code == 409
        assert "last owner" in last.json()["detail"]
        remove_last = await client.delete(
            f"/workspace/members/{owner.user_id}", headers=owner.headers
        )
        assert remove_last.status_code == 409


async def test_api_keys_are_shown_once_listed_by_prefix_and_revocable(
    settings, tenant_factory
) -> None:
    editor = await tenant_factory(role="editor")
    async with AsyncTestClient(create_app(settings)) as client:
        created = await client.post("/api-keys", json={"name": "ci"}, headers=editor.headers)
        assert created.status_code == 201
        body = created.json()
        key = body["key"]
        assert key.startswith("rr_")
        assert body["prefix"] in key
        listed = await client.get("/api-keys", headers=editor.headers)
        assert key not in listed.text
        assert {k["name"] for k in listed.json()} == {"bootstrap", "ci"}
        ci_headers = {"Authorization": f"Bearer {key}"}
        used = await client.get("/workspace", headers=ci_headers)
        assert used.status_code == 200
        listed = await client.get("/api-keys", headers=editor.headers)
        ci = next(k for k in listed.json() if k["name"] == "ci")
        assert ci["last_used_at"] is not None
        assert ci["revoked_at"] is None

        revoked = await client.post(f"/api-keys/{body['id']}/revoke", headers=editor.headers)
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        refused = await client.get("/workspace", headers=ci_headers)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]


async def test_an_expired_key_is_refused(services, settings, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    async with AsyncTestClient(create_app(settings)) as client:
        past = await client.post(
            "/api-keys",
            json={"name": "old", "expires_at": (datetime.now(UTC) - timedelta(1)).isoformat()},
            headers=editor.headers,
        )
        assert past.status_code == 422
        later = datetime.now(UTC) + timedelta(hours=1)
        created = await client.post(
            "/api-keys", json={"name": "short", "expires_at": later.isoformat()},
            headers=editor.headers,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        headers = {"Authorization": f"Bearer {created.json()['key']}"}
        before = await client.get("/workspace", headers=headers)
        # the hour passes: move the key's expiry behind the clock instead of waiting on it
        engine = create_engine(services.database_url, pool_size=1)
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                update(ApiKey)
                .where(ApiKey.id == uuid.UUID(created.json()["id"]))
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        await engine.dispose()
        refused = await client.get("/workspace", headers=headers)
    assert before.status_code == 200
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]


async def test_members_see_only_their_keys_admins_see_all(settings, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        added = await client.post(
            "/workspace/members",
            json={"email": f"v-{admin.slug}@example.test", "role": "viewer"},
            headers=admin.headers,
        )
        viewer_headers = {"Authorization": f"Bearer {added.json()['key']}"}
        mine = await client.get("/api-keys", headers=viewer_headers)
        every = await client.get("/api-keys", headers=admin.headers)
        admin_key = next(k for k in every.json() if k["name"] == "bootstrap")
        steal = await client.post(f"/api-keys/{admin_key['id']}/revoke", headers=viewer_headers)
        audit_refused = await client.get("/audit", headers=viewer_headers)
    assert len(mine.json()) == 1
    assert len(every.json()) == 2
    assert steal.status_code == 404
    assert audit_refused.status_code == 403


async def test_audit_log_pages_with_a_cursor_and_filters_by_time(settings, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        start = datetime.now(UTC) - timedelta(seconds=1)
        for n in range(5):
            await client.post("/api-keys", json={"name": f"k{n}"}, headers=admin.headers)
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": "2", "action": "api_key.created"}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/audit", params=params, headers=admin.headers)).json()
            seen += [e["data"]["name"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        future = await client.get(
            "/audit",
            params={"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            headers=admin.headers,
        )
        since = await client.get(
            "/audit", params={"since": start.isoformat()}, headers=admin.headers
        )
        bad = await client.get("/audit", params={"cursor": "nope"}, headers=admin.headers)
    assert sorted(seen) == [f"k{n}" for n in range(5)]
    assert len(seen) == 5
    assert future.json()["items"] == []
    assert len(since.json()["items"]) == 5
    assert bad.status_code == 422
