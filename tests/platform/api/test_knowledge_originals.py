"""Originals live in the shared store, not on an API's disk: an upload through one API process
is ingested by a worker process with another data directory and downloads through a third, on
PostgreSQL and on S3; an oversized upload leaves nothing; another workspace's original is never
served, even through a forged ``storage_path``."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from s3_testkit import S3Bucket
from sqlalchemy import text

from reporunner.platform.api.app import create_app
from reporunner.platform.resources import open_resources
from reporunner.platform.settings import Settings

KB = "/knowledge-bases"
NOTES = b"# Turbines\n\n## Maintenance\n\nThe turbine blades are inspected every 400 hours.\n"
Factory = Callable[..., Awaitable[AsyncTestClient[Any]]]


@pytest.fixture(params=["postgres", "s3"])
def store_settings(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> dict[str, Any]:
    """Settings of one store, on a queue of our own; each process adds its own data dir."""
    updates: dict[str, Any] = {"queue_name": f"test:kb:{uuid.uuid4().hex}"}
    if request.param == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        updates |= bucket.settings
        updates["_bucket"] = bucket
    return updates


def _settings(settings: Settings, store: dict[str, Any], data_dir: Path) -> Settings:
    updates = {k: v for k, v in store.items() if not k.startswith("_")}
    return settings.model_copy(update={**updates, "data_dir": data_dir})


@pytest.fixture
async def api(settings: Settings, store_settings: dict[str, Any]) -> AsyncIterator[Factory]:
    """``await api(data_dir)``: an API app of its own (another process's view) on the store."""
    clients: list[AsyncTestClient[Any]] = []

    async def make(data_dir: Path, **updates: Any) -> AsyncTestClient[Any]:
        app_settings = _settings(settings, store_settings, data_dir).model_copy(update=updates)
        client = AsyncTestClient(create_app(app_settings))
        await client.__aenter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.__aexit__(None, None, None)


def _worker_env(services: Any, store: dict[str, Any], data_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    for key, value in store.items():
        if not key.startswith("_"):
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            env[f"REPORUNNER_{key.upper()}"] = str(plain)
    return env


async def _doc(client: AsyncTestClient[Any], tenant: Any, kb_id: str, doc_id: str) -> Any:
    response = await client.get(f"{KB}/{kb_id}/documents/{doc_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _blob_count(settings: Settings, workspace_id: uuid.UUID) -> int:
    resources = await open_resources(settings)
    try:
        async with resources.engine.connect() as conn:
            count: int = await conn.scalar(
                text("SELECT count(*) FROM original_blobs WHERE workspace_id = :ws"),
                {"ws": workspace_id},
            )
            return count
    finally:
        await resources.close()


def _store_db(client: AsyncTestClient[Any]) -> Settings:
    settings: Settings = client.app.state.resources.settings
    return settings


@pytest.mark.timeout(300)
async def test_upload_through_one_api_is_ingested_by_a_worker_with_another_data_dir(
    api: Factory,
    tenant_factory: Any,
    services: Any,
    store_settings: dict[str, Any],
    tmp_path: Path,
) -> None:
    tenant = await tenant_factory(role="editor")
    api1 = await api(tmp_path / "api1")
    made = await api1.post(KB, json={"name": "shared"}, headers=tenant.headers)
    kb_id = made.json()["id"]
    upload = await api1.post(
        f"{KB}/{kb_id}/documents", files=[("files", ("notes.md", NOTES))], headers=tenant.headers
    )
    assert upload.status_code == 202, upload.text
    [doc] = upload.json()["documents"]

    # a real worker process, its own data directory, sharing only PostgreSQL, Redis (and S3)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reporunner.platform.cli", "worker", "--burst",
        env=_worker_env(services, store_settings, tmp_path / "worker"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(worker.communicate(), 240)
    assert worker.returncode == 0, err.decode()[-2000:]
    final = await _doc(api1, tenant, kb_id, doc["id"])
    assert final["status"] == "ready", final
    assert final["chunks_total"] >= 1

    api2 = await api(tmp_path / "api2")
    original = await api2.get(
        f"{KB}/{kb_id}/documents/{doc['id']}/original", headers=tenant.headers
    )
    assert original.status_code == 200, original.text
    assert original.content == NOTES
    assert original.headers["content-length"] == str(len(NOTES))
    assert original.headers["content-disposition"].startswith('attachment; filename="notes.md"')
    assert original.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in original.headers["content-security-policy"]
    hits = await api2.post(
        f"{KB}/{kb_id}/search", json={"query": "turbine inspection"}, headers=tenant.headers
    )
    assert hits.json()["hits"][0]["document_name"] == "notes.md"
    # no process wrote an original to its own disk
    assert not list(tmp_path.glob("*/knowledge"))

    # deleting the base deletes its originals from the store
    assert (await api2.delete(f"{KB}/{kb_id}", headers=tenant.headers)).status_code == 204
    bucket: S3Bucket | None = store_settings.get("_bucket")
    if bucket is not None:
        assert bucket.keys() == []
    assert await _blob_count(_store_db(api2), tenant.workspace_id) == 0


async def test_an_oversized_upload_is_refused_and_leaves_nothing(
    api: Factory, tenant_factory: Any, store_settings: dict[str, Any], tmp_path: Path
) -> None:
    tenant = await tenant_factory(role="editor")
    client = await api(tmp_path / "api", max_upload_bytes=64 * 1024)
    kb_id = (await client.post(KB, json={"name": "small"}, headers=tenant.headers)).json()["id"]
    files = [("files", ("ok.txt", b"fits")), ("files", ("big.txt", b"x" * (64 * 1024 + 1)))]
    response = await client.post(f"{KB}/{kb_id}/documents", files=files, headers=tenant.headers)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "'big.txt'" in response.json()["detail"]
    assert "REPORUNNER_MAX_UPLOAD_BYTES" in response.json()["detail"]
    listed = await client.get(f"{KB}/{kb_id}/documents", headers=tenant.headers)
    assert listed.json() == []
    bucket: S3Bucket | None = store_settings.get("_bucket")
    if bucket is not None:
        assert bucket.keys() == []
        assert bucket.open_uploads() == 0
    assert await _blob_count(_store_db(client), tenant.workspace_id) == 0
    assert not (tmp_path / "api" / "knowledge").exists()


async def test_an_original_of_another_workspace_is_never_served(
    api: Factory, tenant_factory: Any, tmp_path: Path
) -> None:
    owner, intruder = await tenant_factory(role="editor"), await tenant_factory(role="editor")
    client = await api(tmp_path / "api")
    kb_a = (await client.post(KB, json={"name": "a"}, headers=owner.headers)).json()["id"]
    kb_b = (await client.post(KB, json={"name": "b"}, headers=intruder.headers)).json()["id"]
    up_a = await client.post(
        f"{KB}/{kb_a}/documents", files=[("files", ("secret.md", NOTES))], headers=owner.headers
    )
    up_b = await client.post(
        f"{KB}/{kb_b}/documents", files=[("files", ("mine.md", b"# Mine\n\nx\n"))],
        headers=intruder.headers,
    )  # fmt: skip
    doc_a, doc_b = up_a.json()["documents"][0]["id"], up_b.json()["documents"][0]["id"]
    # the owner's ids through the intruder's key: 404, never the bytes
    for kb_id in (kb_a, kb_b):
        stolen = await client.get(
            f"{KB}/{kb_id}/documents/{doc_a}/original", headers=intruder.headers
        )
        assert stolen.status_code == 404
        assert NOTES not in stolen.content
    # even a row whose storage_path was forged to name the owner's original is refused
    settings = _store_db(client)
    resources = await open_resources(settings)
    try:
        async with resources.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE documents SET storage_path = (SELECT storage_path FROM documents "
                    "WHERE id = :a) WHERE id = :b AND workspace_id = :ws"
                ),
                {"a": doc_a, "b": doc_b, "ws": intruder.workspace_id},
            )
    finally:
        await resources.close()
    forged = await client.get(f"{KB}/{kb_b}/documents/{doc_b}/original", headers=intruder.headers)
    assert forged.status_code == 404
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert NOTES not in forged.content
    mine = await client.get(f"{KB}/{kb_a}/documents/{doc_a}/original", headers=owner.headers)
    assert mine.content == NOTES
