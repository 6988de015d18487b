"""``POST /knowledge-bases/{id}/documents/{doc}/retry``: a failed document is ingested again.

The failure cured between the two runs is the base's chunk limit (``max_base_chunks``, checked
by the worker): a second document does not fit beside the first, the first is deleted, and the
retry of the second ends ``ready``. Workers run in burst mode on a queue of the test's own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from member_testkit import add_member

from reporunner.platform.api.app import create_app
from reporunner.platform.resources import open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker

KB = "/knowledge-bases"
LONG = " ".join(
    f"Section {i} explains how the pump number {i} is serviced and inspected." for i in range(40)
).encode()
SHORT = b"The impeller seal is replaced every two thousand hours."


@pytest.fixture
def kb_settings(settings: Settings, tmp_path: Path) -> Settings:
    """A queue and a data directory of the test's own."""
    return settings.model_copy(
        update={"queue_name": f"test:kb:{uuid.uuid4().hex}", "data_dir": tmp_path / "data"}
    )


@pytest.fixture
async def kb_client(kb_settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(kb_settings)) as client:
        yield client


async def _work(settings: Settings) -> None:
    """Run a burst worker with ``settings`` until the queue is empty."""
    resources = await open_resources(settings)
    try:
        await build_worker(resources, burst=True, handle_signals=False).main()
    finally:
        await resources.close()


async def _settled(client: AsyncTestClient[Any], headers: Any, url: str) -> dict[str, Any]:
    deadline, pause = time.monotonic() + 60, 0.02
    while True:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("ready", "failed"):
            return body
        assert time.monotonic() < deadline, f"document stuck in {body['status']}"
        await asyncio.sleep(pause)
        pause = min(0.5, pause * 1.5)


async def _upload(
    client: AsyncTestClient[Any], headers: Any, kb_id: str, name: str, data: bytes
) -> str:
    response = await client.post(
        f"{KB}/{kb_id}/documents", files=[("files", (name, data))], headers=headers
    )
    assert response.status_code == 202, response.text
    return str(response.json()["documents"][0]["id"])


async def test_failed_document_is_retried_after_its_cause_is_gone(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, kb_settings: Settings
) -> None:
    tenant = await tenant_factory(role="editor")
    headers = tenant.headers
    created = await kb_client.post(
        KB, json={"name": "full", "chunk_size": 32, "chunk_overlap": 0}, headers=headers
    )
    assert created.status_code == 201, created.text
    kb_id = created.json()["id"]
    docs = f"{KB}/{kb_id}/documents"

    long_id = await _upload(kb_client, headers, kb_id, "long.txt", LONG)
    await _work(kb_settings)
    long_doc = await _settled(kb_client, headers, f"{docs}/{long_id}")
    assert long_doc["status"] == "ready", long_doc
    full = long_doc["chunks_total"]
    assert full > 1

    # the base may hold exactly the long document's chunks: the short one does not fit
    limited = kb_settings.model_copy(update={"max_base_chunks": full})
    short_id = await _upload(kb_client, headers, kb_id, "short.txt", SHORT)
    await _work(limited)
    failed = await _settled(kb_client, headers, f"{docs}/{short_id}")
    assert failed["status"] == "failed"
    assert str(full) in failed["error"], failed["error"]

    # retrying what has not failed, or what does not exist, says why
    not_failed = await kb_client.post(f"{docs}/{long_id}/retry", headers=headers)
    assert not_failed.status_code == 409
    assert "only a failed document" in not_failed.json()["detail"]
    missing = await kb_client.post(f"{docs}/{uuid.uuid4()}/retry", headers=headers)
    assert missing.status_code == 404

    assert (await kb_client.delete(f"{docs}/{long_id}", headers=headers)).status_code == 204
    retried = await kb_client.post(f"{docs}/{short_id}/retry", headers=headers)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "queued"
    assert retried.json()["error"] is None
    await _work(limited)
    ready = await _settled(kb_client, headers, f"{docs}/{short_id}")
    assert ready["status"] == "ready", ready
    assert ready["chunks_done"] == ready["chunks_total"] == 1
    search = await kb_client.post(
        f"{KB}/{kb_id}/search", json={"query": "impeller seal", "mode": "keyword"}, headers=headers
    )
    assert [h["document_name"] for h in search.json()["hits"]] == ["short.txt"]


async def test_retry_is_refused_to_viewers_and_other_workspaces(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, kb_settings: Settings
) -> None:
    editor = await tenant_factory(role="editor")
    created = await kb_client.post(KB, json={"name": "docs"}, headers=editor.headers)
    kb_id = created.json()["id"]
    doc_id = await _upload(kb_client, editor.headers, kb_id, "short.txt", SHORT)
    url = f"{KB}/{kb_id}/documents/{doc_id}/retry"

    viewer = await add_member(kb_settings, editor.workspace_id, "viewer")
    forbidden = await kb_client.post(url, headers=viewer)
    assert forbidden.status_code == 403
    assert "'editor' role" in forbidden.json()["detail"]
    stranger = await tenant_factory(role="editor")  # another workspace sees nothing of it
    assert (await kb_client.post(url, headers=stranger.headers)).status_code == 404
    bad = await kb_client.post(f"{KB}/{kb_id}/documents/not-a-uuid/retry", headers=editor.headers)
    assert bad.status_code == 404
    queued = await kb_client.post(url, headers=editor.headers)  # nothing ran it yet
    assert queued.status_code == 409
    assert "is queued" in queued.json()["detail"]
    reembed = await kb_client.post(
        f"{KB}/{kb_id}/reembed",
        json={"embedding_model": "all-MiniLM-L6-v2"},
        headers=editor.headers,
    )
    assert reembed.status_code == 202, reembed.text
    during = await kb_client.post(url, headers=editor.headers)  # no worker: it stays re-embedding
    assert during.status_code == 409
    assert "being re-embedded" in during.json()["detail"]
