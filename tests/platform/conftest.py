"""Platform test helpers: tenants with API keys, and an API client on the real services."""

from __future__ import annotations

import time
import types
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from litestar.testing import AsyncTestClient
from s3_testkit import s3_bucket, s3_endpoint  # fixtures for every platform test

from reporunner.platform.api import limits
from reporunner.platform.api.app import create_app
from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.settings import Settings, load_settings

__all__ = ["s3_bucket", "s3_endpoint"]


@dataclass(frozen=True, slots=True)
class Tenant:
    """A workspace with one member of ``role`` and that member's API key."""

    workspace_id: uuid.UUID
    slug: str
    user_id: uuid.UUID
    role: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


TenantFactory = Callable[..., Awaitable[Tenant]]


@pytest.fixture
def settings(services) -> Settings:
    return load_settings(database_url=services.database_url, redis_url=services.redis_url)


@pytest.fixture
async def tenant_factory(services) -> AsyncIterator[TenantFactory]:
    """``await tenant_factory(role="editor")`` makes a fresh workspace with a member and key."""
    engine = create_engine(services.database_url, pool_size=2)
    sessions = session_factory(engine)

    async def make(role: str = "owner", slug: str | None = None) -> Tenant:
        slug = slug or f"ws-{uuid.uuid4().hex[:10]}"
        async with sessions() as session, session.begin():
            workspace, user, key = await create_workspace_with_owner(
                session, slug=slug, email=f"{slug}@example.test", role=role
            )
        return Tenant(workspace.id, slug, user.id, role, key.plaintext)

    yield make
    await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The whole API app on the real services."""
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def frozen_rate_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """The rate limiter's clock stands still in the middle of a one-minute window, so a test
    counting requests against a limit never sees the window turn under it."""
    instant = (time.time() // 60) * 60 + 30
    monkeypatch.setattr(limits, "time", types.SimpleNamespace(time=lambda: instant))
    return instant
