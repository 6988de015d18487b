"""Editing a credential from a form that never sees its secrets: ``keep_unset`` keeps the
fields the form left out; the answer still says only which fields are set."""

from __future__ import annotations

from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.vault import resolve_credentials

SECRET = "pw-" + "s3cr3t" * 6


async def test_keep_unset_replaces_only_the_given_fields(client, tenant_factory, services):
    admin = await tenant_factory(role="admin")
    created = await client.post(
        "/credentials",
        json={"name": "db", "type": "basic_auth", "data": {"username": "u", "password": SECRET}},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    path = f"/credentials/{created.json()['id']}"
    kept = await client.patch(
        path, json={"name": "db2", "data": {"username": "v"}, "keep_unset": True},
        headers=admin.headers,
    )  # fmt: skip
    assert kept.status_code == 200, kept.text
    assert kept.json()["name"] == "db2"
    assert kept.json()["fields_set"] == ["password", "username"]
    # without keep_unset, data is the whole credential: the missing password is named
    whole = await client.patch(path, json={"data": {"username": "w"}}, headers=admin.headers)
    assert whole.status_code == 422
    assert "/data/password" in {p["pointer"] for p in whole.json()["problems"]}
    # hostile: a field the type does not have, a non-boolean flag; no answer echoes the secret
    extra = await client.patch(
        path, json={"data": {"pw": SECRET}, "keep_unset": True}, headers=admin.headers
    )
    assert extra.status_code == 422
    assert "/data/pw" in {p["pointer"] for p in extra.json()["problems"]}
    flag = await client.patch(path, json={"data": {}, "keep_unset": "maybe"}, headers=admin.headers)
    assert flag.status_code == 400
    assert "keep_unset" in flag.text
    for response in (created, kept, whole, extra, flag):
        assert SECRET not in response.text
    engine = create_engine(services.database_url, pool_size=1)
    keyring = client.app.state.resources.keyring
    try:
        async with session_factory(engine)() as session, session.begin():
            resolved = await resolve_credentials(
                session, admin.workspace_id, {"basic_auth": created.json()["id"]}, keyring
            )
    finally:
        await engine.dispose()
    cred = resolved["basic_auth"]
    assert cred.username == "v"  # type: ignore[attr-defined]
    assert cred.password.get_secret_value() == SECRET  # type: ignore[attr-defined]
