"""The one ``transaction`` dependency: commit on success, roll back on error, 409 on conflicts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import NotFoundError
from reporunner.platform.api.app import create_app
from reporunner.platform.db.models import Workspace
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.settings import Settings

PUBLIC = {"public": True}


@post("/_t/write/{slug:str}", opt=PUBLIC, status_code=200)
async def write(slug: FromPath[str], transaction: NamedDependency[AsyncSession]) -> dict[str, str]:
    transaction.add(Workspace(slug=slug, name=slug))
    await transaction.flush()
    return {"slug": slug}


@post("/_t/write-unflushed/{slug:str}", opt=PUBLIC, status_code=200)
async def write_unflushed(
    slug: FromPath[str], transaction: NamedDependency[AsyncSession]
) -> dict[str, str]:
    """The INSERT happens at commit, after the handler returned."""
    transaction.add(Workspace(slug=slug, name=slug))
    return {"slug": slug}


@post("/_t/write-then-fail/{slug:str}", opt=PUBLIC, status_code=200)
async def write_then_fail(slug: FromPath[str], transaction: NamedDependency[AsyncSession]) -> None:
    transaction.add(Workspace(slug=slug, name=slug))
    await transaction.flush()
    raise NotFoundError(f"workspace '{slug}' vanished")


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings, extra_route_handlers=[write, write_unflushed, write_then_fail])
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def _exists(settings: Settings, slug: str) -> bool:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            found = await session.scalar(select(Workspace.id).where(Workspace.slug == slug))
    finally:
        await engine.dispose()
    return found is not None


async def test_the_transaction_commits_when_the_handler_returns(api, settings) -> None:
    slug = f"tx-{uuid.uuid4().hex[:10]}"
    response = await api.post(f"/_t/write/{slug}")
    assert response.status_code == 200
    assert await _exists(settings, slug)


async def test_an_error_in_the_handler_rolls_the_transaction_back(api, settings) -> None:
    slug = f"tx-{uuid.uuid4().hex[:10]}"
    response = await api.post(f"/_t/write-then-fail/{slug}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "vanished" in response.json()["detail"]
    assert not await _exists(settings, slug)


@pytest.mark.parametrize("route", ["write", "write-unflushed"])
async def test_an_integrity_error_is_a_409_problem(api, route: str) -> None:
    """A duplicate raised inside the handler (flush) or at the commit after it: one 409."""
    slug = f"tx-{uuid.uuid4().hex[:10]}"
    assert (await api.post(f"/_t/{route}/{slug}")).status_code == 200
    again = await api.post(f"/_t/{route}/{slug}")
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    body = again.json()
    assert body["code"] == "conflict"
    assert "duplicate" in body["detail"]
    assert "Traceback" not in again.text


def test_no_route_opens_a_session_of_its_own() -> None:
    """Routes get their session from the ``transaction`` dependency (or leave the unit of work
    to a service that must commit before it enqueues, publishes or streams)."""
    import reporunner.platform.api.routes as routes

    folder = Path(routes.__file__).parent
    offenders = [
        path.name
        for path in sorted(folder.glob("*.py"))
        if ".sessions" in path.read_text() or "async_sessionmaker" in path.read_text()
    ]
    assert len(list(folder.glob("*.py"))) > 5
    assert offenders == []
