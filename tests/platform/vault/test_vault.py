"""Credential vault over the API and in the service: secrets go in, never come out."""

from __future__ import annotations

import base64
import os
import uuid

import psycopg
import pytest
from sqlalchemy import select

from reporunner.nodes.errors import CredentialError
from reporunner.platform.db.models import AuditLog, Credential
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.vault import (
    Keyring,
    MasterKey,
    resolve_credentials,
    rotate_all,
)

SECRET = "tok-" + "s3cr3t" * 6


async def _create(client, tenant, name: str = "gh", secret: str = SECRET):
    return await client.post(
        "/credentials",
        json={"name": name, "type": "bearer_token", "data": {"token": secret}},
        headers=tenant.headers,
    )


async def test_created_credential_never_returns_its_secret(client, tenant_factory, services):
    admin = await tenant_factory(role="admin")
    created = await _create(client, admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["fields_set"] == ["token"]
    listed = await client.get("/credentials", headers=admin.headers)
    one = await client.get(f"/credentials/{body['id']}", headers=admin.headers)
    for response in (created, listed, one):
        assert SECRET not in response.text
    assert listed.json()[0]["name"] == "gh"
    with psycopg.connect(services.pg_dsn) as conn:
        row = conn.execute(
            "SELECT ciphertext, key_id FROM credentials WHERE id = %s", (body["id"],)
        ).fetchone()
    assert row is not None
    assert SECRET.encode() not in bytes(row[0])


async def test_roles_and_cross_workspace(client, tenant_factory):
    admin, other = await tenant_factory(role="admin"), await tenant_factory(role="admin")
    editor = await tenant_factory(role="editor")
    assert (await _create(client, editor)).status_code == 403
    cred_id = (await _create(client, admin)).json()["id"]
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
        response = await client.request(
            method, f"/credentials/{cred_id}", headers=other.headers, **kwargs
        )
        assert response.status_code == 404, method
    assert (await client.get("/credentials", headers=other.headers)).json() == []


async def test_bad_data_names_the_field_without_echoing_values(client, tenant_factory):
    admin = await tenant_factory(role="admin")
    response = await client.post(
        "/credentials",
        json={"name": "bad", "type": "basic_auth", "data": {"username": 1, "pw": SECRET}},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    pointers = {p["pointer"] for p in response.json()["problems"]}
    assert "/data/password" in pointers
    assert SECRET not in response.text
    unknown = await client.post(
        "/credentials",
        json={"name": "u", "type": "bearer_tokn", "data": {}},
        headers=admin.headers,
    )
    assert unknown.status_code == 422
    assert "did you mean 'bearer_token'" in unknown.json()["detail"]


async def test_resolve_decrypts_in_memory_and_refuses_other_workspaces(
    client, tenant_factory, services
):
    admin, other = await tenant_factory(role="admin"), await tenant_factory(role="admin")
    cred_id = (await _create(client, admin)).json()["id"]
    app_keyring = client.app.state.resources.keyring
    engine = create_engine(services.database_url, pool_size=1)
    async with session_factory(engine)() as session, session.begin():
        resolved = await resolve_credentials(
            session, admin.workspace_id, {"bearer_token": cred_id}, app_keyring
        )
        assert resolved["bearer_token"].token.get_secret_value() == SECRET  # type: ignore[attr-defined]
        with pytest.raises(CredentialError, match="does not exist in this workspace"):
            await resolve_credentials(
                session, other.workspace_id, {"bearer_token": cred_id}, app_keyring
            )
        with pytest.raises(CredentialError, match="is a 'bearer_token', not a 'basic_auth'"):
            await resolve_credentials(
                session, admin.workspace_id, {"basic_auth": cred_id}, app_keyring
            )
        used = (
            (
                await session.execute(
                    select(AuditLog).where(
                        AuditLog.workspace_id == admin.workspace_id,
                        AuditLog.action == "credential.used",
                    )
                )
            )
            .scalars()
            .all()
        )
        assert len(used) == 1
    await engine.dispose()


def _key() -> MasterKey:
    raw = os.urandom(32)
    from reporunner.platform.vault.keys import _key_id

    return MasterKey(_key_id(raw), raw)


async def test_rotation_reencrypts_and_tampering_fails(fresh_database):
    from reporunner.platform.auth import Principal
    from reporunner.platform.vault import create_credential
    from reporunner.platform.vault.schemas import CredentialCreate

    old, new = _key(), _key()
    principal = Principal(uuid.uuid4(), "ws", uuid.uuid4(), "owner")
    engine = create_engine(fresh_database.database_url, pool_size=1)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        out = await create_credential(
            session, principal,
            CredentialCreate(name="a", type="bearer_token", data={"token": SECRET}),
            Keyring(old),
        )  # fmt: skip
        second = await create_credential(
            session, principal,
            CredentialCreate(name="b", type="bearer_token", data={"token": "other-secret"}),
            Keyring(old),
        )  # fmt: skip
    rotated = Keyring(new, (old,))
    async with sessions() as session, session.begin():
        assert await rotate_all(session, rotated) == 2
    async with sessions() as session, session.begin():
        rows = (await session.execute(select(Credential))).scalars().all()
        assert {r.key_id for r in rows} == {new.key_id}
        got = await resolve_credentials(
            session, principal.workspace_id, {"bearer_token": str(out.id)}, Keyring(new)
        )
        assert got["bearer_token"].token.get_secret_value() == SECRET  # type: ignore[attr-defined]
        # a ciphertext copied onto another row does not decrypt there
        a = next(r for r in rows if r.id == out.id)
        b = next(r for r in rows if r.id == second.id)
        b.ciphertext, b.nonce = a.ciphertext, a.nonce
        await session.flush()
        with pytest.raises(CredentialError, match="failed authentication"):
            await resolve_credentials(
                session, principal.workspace_id, {"bearer_token": str(second.id)}, Keyring(new)
            )
    await engine.dispose()


def test_old_keys_setting_is_parsed(tmp_path):
    from reporunner.platform.settings import load_settings
    from reporunner.platform.vault import keyring_from_settings

    a, b = os.urandom(32), os.urandom(32)
    settings = load_settings(
        data_dir=tmp_path,
        secret_key=base64.b64encode(a).decode(),
        old_secret_keys=base64.b64encode(b).decode(),
    )
    keyring = keyring_from_settings(settings)
    assert keyring.current.key == a
    assert [k.key for k in keyring.previous] == [b]
