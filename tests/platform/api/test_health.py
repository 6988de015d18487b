"""/healthz, /readyz and problem+json against the real services."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.services.redis import EmbeddedRedis
from reporunner.platform.settings import load_settings


async def test_readyz_green_on_real_services(services) -> None:
    settings = load_settings(database_url=services.database_url, redis_url=services.redis_url)
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        checks = ready.json()["checks"]
        assert {name: c["status"] for name, c in checks.items()} == {
            "postgres": "ok",
            "redis": "ok",
            "schema": "ok",
        }


async def test_readyz_503_names_redis_when_it_is_down(services, tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path)
    url = redis.start()
    try:
        settings = load_settings(database_url=services.database_url, redis_url=url)
        async with AsyncTestClient(create_app(settings)) as client:
            assert (await client.get("/readyz")).status_code == 200
            redis.stop()
            ready = await client.get("/readyz")
    finally:
        redis.stop()
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    body = ready.json()
    assert body["failed"] == ["redis"]
    assert body["checks"]["postgres"]["status"] == "ok"
    assert "Redis" in body["detail"]


async def test_readyz_reports_schema_behind(fresh_database) -> None:
    from reporunner.platform.db.migrate import downgrade

    downgrade(fresh_database.database_url, "base")
    settings = load_settings(
        database_url=fresh_database.database_url, redis_url=fresh_database.redis_url
    )
    async with AsyncTestClient(create_app(settings)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["schema"]
    assert "reporunner migrate" in ready.json()["checks"]["schema"]["reason"]


async def test_unknown_route_is_problem_json(services) -> None:
    settings = load_settings(database_url=services.database_url, redis_url=services.redis_url)
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/no/such/route")
        docs = await client.get("/docs/openapi.json")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404
    assert response.json()["instance"] == "/no/such/route"
    assert docs.status_code == 200
    assert "/readyz" in docs.json()["paths"]
