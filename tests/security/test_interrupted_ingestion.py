"""Interrupted ingestion (#18, finding 3: "SIGTERM did not stop it"): a worker told to stop
while a document is being embedded ends the job and puts the document back to ``queued`` at
once, its arq job queued again; the next worker ingests it to ``ready``. Before, the document
stayed ``embedding`` until the reaper noticed the silence (and counted a lost attempt).

The embedding model is a litellm custom provider (litellm's real code path, no network) that
holds its first request until the test releases it, so the stop lands mid-embedding by an
event, not by timing. ``WakingWorker.stop`` is what the CLI's SIGTERM/SIGINT handler calls
(``tests/platform/executions/test_exec_shutdown.py`` sends the real signals).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import litellm
import pytest
from sqlalchemy import text

from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.knowledge import IncomingFile
from reporunner.platform.knowledge import service as kb
from reporunner.platform.knowledge.ingest import start_reembed
from reporunner.platform.knowledge.schemas import KnowledgeBaseCreate, ReembedIn
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import load_settings
from reporunner.platform.worker import build_worker

pytestmark = pytest.mark.timeout(180)


class HeldEmbeddings(litellm.CustomLLM):  # type: ignore[misc]
    """8-dimensional vectors; every request waits until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def aembedding(
        self, model: str, input: list[str], model_response: Any, *args: Any, **kwargs: Any
    ) -> Any:
        self.started.set()
        await self.release.wait()
        model_response.data = [
            {"object": "embedding", "index": i, "embedding": [1.0 + len(t) % (j + 2) for j in range(8)]}  # noqa: E501
            for i, t in enumerate(input)
        ]  # fmt: skip
        model_response.model = model
        return model_response


@pytest.fixture
async def resources(services: Any, tmp_path: Any) -> AsyncIterator[Resources]:
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        queue_name=f"sec:ingest-stop:{uuid.uuid4().hex}",
        data_dir=tmp_path / "data",
    )
    opened = await open_resources(settings)
    yield opened
    await opened.close()


async def _status(resources: Resources, document_id: uuid.UUID) -> tuple[str, int]:
    async with resources.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, ingest_attempts FROM documents WHERE id = :id"),
                {"id": document_id},
            )
        ).one()
    return str(row.status), int(row.ingest_attempts)


async def _stop_mid_embedding(resources: Resources, held: HeldEmbeddings) -> None:
    """Run a worker until the held model gets its first request, then stop it (no grace)."""
    worker = build_worker(resources, handle_signals=False)
    running = asyncio.create_task(worker.main())
    try:
        await asyncio.wait_for(held.started.wait(), 60)  # the job is embedding now
        await asyncio.wait_for(worker.stop(0), 60)  # what SIGTERM does, past the grace period
        await asyncio.wait_for(running, 60)
    finally:
        if not running.done():
            running.cancel()
        await worker.close()


async def _base(resources: Resources, body: bytes) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    slug = f"ws-{uuid.uuid4().hex[:10]}"
    async with resources.sessions() as session, session.begin():
        workspace, _, _ = await create_workspace_with_owner(
            session, slug=slug, email=f"{slug}@example.test"
        )
    base = await kb.create_base(
        resources,
        workspace.id,
        KnowledgeBaseCreate(name="held", embedding_model="held/e8", embedding_dim=8),
    )
    [doc] = await kb.upload_documents(
        resources, workspace.id, base.id, [IncomingFile("guide.md", body, "upload")]
    )
    return workspace.id, base.id, doc.id


BODY = b"# Turbines\n\nSteam turbines convert the heat of steam into rotation.\n"


async def test_a_stopping_worker_hands_its_document_back_to_the_queue(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldEmbeddings()
    monkeypatch.setattr(
        litellm, "custom_provider_map", [{"provider": "held", "custom_handler": held}]
    )
    _, _, doc = await _base(resources, BODY)
    await _stop_mid_embedding(resources, held)
    # back in the queue at once (not `embedding` until the reaper gives up on it), no attempt lost
    assert await _status(resources, doc) == ("queued", 0)
    assert await resources.redis.zcard(resources.settings.queue_name) == 1  # the job, again

    held.release.set()
    await build_worker(resources, burst=True, handle_signals=False).main()
    assert (await _status(resources, doc))[0] == "ready"


async def test_a_stopping_worker_hands_a_reembedding_base_back(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldEmbeddings()
    monkeypatch.setattr(
        litellm, "custom_provider_map", [{"provider": "held", "custom_handler": held}]
    )
    workspace, base, doc = await _base(resources, BODY)
    held.release.set()
    await build_worker(resources, burst=True, handle_signals=False).main()
    assert (await _status(resources, doc))[0] == "ready"

    held.started.clear()
    held.release.clear()
    await start_reembed(
        resources, workspace, base, ReembedIn(embedding_model="held/e8b", embedding_dim=8)
    )
    await _stop_mid_embedding(resources, held)
    assert await _status(resources, doc) == ("queued", 0)
    assert await resources.redis.zcard(resources.settings.queue_name) == 1  # the re-embed job

    held.release.set()
    await build_worker(resources, burst=True, handle_signals=False).main()
    assert (await _status(resources, doc))[0] == "ready"
    async with resources.engine.connect() as conn:
        model = await conn.scalar(
            text("SELECT embedding_model FROM knowledge_bases WHERE id = :id"), {"id": base}
        )
    assert model == "held/e8b"
