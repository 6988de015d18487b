"""API keys: bearer auth, revocation, expiry, roles, bootstrap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import get
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from reporunner.platform.api.app import create_app
from reporunner.platform.auth import Principal, bootstrap_if_empty, requires
from reporunner.platform.db.models import ApiKey
from reporunner.platform.db.session import create_engine, session_factory, transaction


@get("/test/whoami")
async def whoami(principal: NamedDependency[Principal]) -> dict[str, str]:
    return {"workspace": principal.workspace_slug, "role": principal.role}


@get("/test/editors-only", guards=[requires("editor")])
async def editors_only() -> dict[str, bool]:
    return {"ok": True}


async def test_key_resolves_to_its_workspace_and_role(settings, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    async with AsyncTestClient(create_app(settings, extra_route_handlers=[whoami])) as client:
        response = await client.get("/test/whoami", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json() == {"workspace": tenant.slug, "role": "editor"}


async def test_missing_malformed_and_unknown_keys_are_401(settings) -> None:
    async with AsyncTestClient(create_app(settings, extra_route_handlers=[whoami])) as client:
        for headers in (
            {},
            {"Authorization": "Basic abc"},
            {"Authorization": "Bearer rr_nope_nope"},
        ):
            response = await client.get("/test/whoami", headers=headers)
            assert response.status_code == 401
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "API key" in response.json()["detail"]


async def test_revoked_and_expired_keys_are_refused(services, settings, tenant_factory) -> None:
    revoked, expired = await tenant_factory(), await tenant_factory()
    engine = create_engine(services.database_url, pool_size=1)
    async with session_factory(engine)() as session, session.begin():
        now = datetime.now(UTC)
        await session.execute(
            update(ApiKey).where(ApiKey.workspace_id == revoked.workspace_id).values(revoked_at=now)
        )
        await session.execute(
            update(ApiKey)
            .where(ApiKey.workspace_id == expired.workspace_id)
            .values(expires_at=now - timedelta(seconds=1))
        )
    await engine.dispose()
    async with AsyncTestClient(create_app(settings, extra_route_handlers=[whoami])) as client:
        first = await client.get("/test/whoami", headers=revoked.headers)
        second = await client.get("/test/whoami", headers=expired.headers)
    assert first.status_code == 401
    assert "revoked" in first.json()["detail"]
    assert second.status_code == 401
    assert "expired" in second.json()["detail"]


async def test_viewer_is_refused_an_editor_route(settings, tenant_factory) -> None:
    viewer, editor = await tenant_factory(role="viewer"), await tenant_factory(role="editor")
    async with AsyncTestClient(create_app(settings, extra_route_handlers=[editors_only])) as c:
        refused = await c.get("/test/editors-only", headers=viewer.headers)
        allowed = await c.get("/test/editors-only", headers=editor.headers)
    assert refused.status_code == 403
    assert "'editor' role" in refused.json()["detail"]
    assert allowed.status_code == 200


async def test_last_used_is_recorded(services, settings, tenant_factory) -> None:
    tenant = await tenant_factory()
    async with AsyncTestClient(create_app(settings, extra_route_handlers=[whoami])) as client:
        assert (await client.get("/test/whoami", headers=tenant.headers)).status_code == 200
    engine = create_engine(services.database_url, pool_size=1)
    async with session_factory(engine)() as session:
        key = (
            await session.execute(select(ApiKey).where(ApiKey.workspace_id == tenant.workspace_id))
        ).scalar_one()
    await engine.dispose()
    assert key.last_used_at is not None


async def test_bootstrap_creates_one_owner_once(fresh_database) -> None:
    engine = create_engine(fresh_database.database_url, pool_size=1)
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        first = await bootstrap_if_empty(session, "rr_boot_" + "x" * 32)
    async with transaction(sessions) as session:
        second = await bootstrap_if_empty(session)
    async with sessions() as session:
        keys = (await session.execute(select(ApiKey))).scalars().all()
    await engine.dispose()
    assert first is not None
    assert first.key.plaintext == "rr_boot_" + "x" * 32
    assert second is None
    assert len(keys) == 1
    assert keys[0].key_hash == first.key.hash
    assert keys[0].key_hash != first.key.plaintext
