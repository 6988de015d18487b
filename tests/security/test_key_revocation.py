"""Finding 7: an admin revoked the owner's keys and locked every owner out.

The attack: ``POST /api-keys/<owner's key>/revoke`` with an admin key answered 200. Keys of a
higher role are not an admin's to revoke: now 403, and the owner's key keeps working. An admin
still revokes keys of editors, viewers and other admins.
"""

from __future__ import annotations

import httpx
from security_testkit import Served


def _add(served: Served, owner: dict[str, str], email: str, role: str) -> dict[str, str]:
    added = httpx.post(
        f"{served.base}/workspace/members",
        json={"email": email, "role": role},
        headers=owner,
        timeout=30,
    )
    assert added.status_code == 201, added.text
    return {"Authorization": f"Bearer {added.json()['key']}"}


def _key_ids(served: Served, headers: dict[str, str]) -> list[dict[str, str]]:
    listed = httpx.get(f"{served.base}/api-keys", headers=headers, timeout=30)
    assert listed.status_code == 200, listed.text
    return list(listed.json())


async def test_served_admin_cannot_revoke_an_owners_key(served: Served) -> None:
    owner = {"Authorization": f"Bearer {await served.key_for('owner')}"}
    slug = httpx.get(f"{served.base}/workspace", headers=owner, timeout=30).json()["slug"]
    admin = _add(served, owner, f"admin-{slug}@example.test", "admin")
    editor = _add(served, owner, f"editor-{slug}@example.test", "editor")
    me = httpx.get(f"{served.base}/workspace", headers=owner, timeout=30).json()
    keys = _key_ids(served, admin)  # admins see every key of the workspace
    roles = {
        m["user_id"]: m["role"]
        for m in httpx.get(f"{served.base}/workspace/members", headers=owner, timeout=30).json()
    }
    owner_keys = [k for k in keys if roles[k["user_id"]] == "owner"]
    editor_keys = [k for k in keys if roles[k["user_id"]] == "editor"]
    assert owner_keys, me
    for key in owner_keys:
        refused = httpx.post(
            f"{served.base}/api-keys/{key['id']}/revoke", headers=admin, timeout=30
        )
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "owner" in refused.json()["detail"]
    # the owner is not locked out
    assert httpx.get(f"{served.base}/workspace", headers=owner, timeout=30).status_code == 200
    # an admin still revokes an editor's key, and an owner anyone's
    [editor_key] = editor_keys
    revoked = httpx.post(
        f"{served.base}/api-keys/{editor_key['id']}/revoke", headers=admin, timeout=30
    )
    assert revoked.status_code == 200, revoked.text
    assert httpx.get(f"{served.base}/workspace", headers=editor, timeout=30).status_code == 401
    admin_key = next(k for k in _key_ids(served, owner) if roles[k["user_id"]] == "admin")
    by_owner = httpx.post(
        f"{served.base}/api-keys/{admin_key['id']}/revoke", headers=owner, timeout=30
    )
    assert by_owner.status_code == 200, by_owner.text
