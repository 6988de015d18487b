"""The document reaper: an ingestion whose worker died is queued again (and ends ``ready``), a
crash loop ends ``failed`` with the reason, and live or waiting documents are left alone."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from arq.jobs import Job
from redis.asyncio.client import PubSub
from sqlalchemy import text

from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.jobcodec import job_deserializer
from reporunner.platform.knowledge import IncomingFile
from reporunner.platform.knowledge import service as kb
from reporunner.platform.knowledge.events import kb_channel
from reporunner.platform.knowledge.ingest import ingest_stored_document
from reporunner.platform.knowledge.reaper import (
    MAX_INGEST_ATTEMPTS,
    claim_document,
    reap_documents,
    touch_documents,
    worker_stopped_reason,
)
from reporunner.platform.knowledge.schemas import KnowledgeBaseCreate
from reporunner.platform.resources import Resources

GUIDE = (
    b"# Turbines\n\nSteam turbines convert the heat of steam into rotation.\n\n"
    b"## Blades\n\nThe blades of the last stage are the longest ones.\n"
)


async def _upload(resources: Resources, name: str = "guide.md") -> tuple[uuid.UUID, uuid.UUID]:
    """A workspace, a base and one uploaded document (queued, its job waiting in arq)."""
    slug = f"ws-{uuid.uuid4().hex[:10]}"
    async with resources.sessions() as session, session.begin():
        workspace, _, _ = await create_workspace_with_owner(
            session, slug=slug, email=f"{slug}@example.test"
        )
    base = await kb.create_base(resources, workspace.id, KnowledgeBaseCreate(name="reaped"))
    [doc] = await kb.upload_documents(
        resources, workspace.id, base.id, [IncomingFile(name, GUIDE, "upload")]
    )
    return base.id, doc.id


async def _row(resources: Resources, document_id: uuid.UUID) -> Any:
    async with resources.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT status, error, chunks_total, chunks_done, ingest_attempts, "
                    "heartbeat_at FROM documents WHERE id = :id"
                ),
                {"id": document_id},
            )
        ).one()


async def _set(resources: Resources, document_id: uuid.UUID, sql: str) -> None:
    async with resources.engine.begin() as conn:
        await conn.execute(text(f"UPDATE documents SET {sql} WHERE id = :id"), {"id": document_id})


STALE = "heartbeat_at = now() - interval '1 hour', updated_at = now() - interval '1 hour'"


async def _job_keys(resources: Resources, prefix: str, document_id: uuid.UUID) -> list[str]:
    keys = [k async for k in resources.redis.scan_iter(match=f"{prefix}kb-ingest:{document_id}:*")]
    return sorted(k.decode() if isinstance(k, bytes) else str(k) for k in keys)


async def _lose_jobs(resources: Resources, document_id: uuid.UUID) -> None:
    """Redis loses the document's pending job (flushed, failed over...)."""
    for key in await _job_keys(resources, "arq:job:", document_id):
        await resources.redis.delete(key)
        await resources.redis.zrem(resources.settings.queue_name, key.removeprefix("arq:job:"))


@pytest.fixture
async def events(kb_resources: Resources) -> AsyncIterator[Callable[[uuid.UUID], Any]]:
    """``await (await events(base_id))()`` → the next event published for that base."""
    subscriptions: list[PubSub] = []

    async def follow(base_id: uuid.UUID) -> Callable[[], Awaitable[dict[str, Any]]]:
        pubsub = kb_resources.redis.pubsub()
        subscriptions.append(pubsub)
        await pubsub.subscribe(kb_channel(base_id))

        async def next_event() -> dict[str, Any]:
            for _ in range(50):
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    event: dict[str, Any] = json.loads(message["data"])
                    return event
            raise AssertionError("no event was published")

        return next_event

    yield follow
    for pubsub in subscriptions:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def test_a_document_left_embedding_by_a_dead_worker_is_requeued_and_ends_ready(
    kb_resources: Resources, drain_queue: Callable[[], Awaitable[None]], events: Any
) -> None:
    base_id, doc_id = await _upload(kb_resources)
    # a worker took the job and died while embedding: the row stops at `embedding`, its
    # heartbeat goes stale (arq would run the dead job again only after its timeout, an hour)
    await _lose_jobs(kb_resources, doc_id)
    await _set(kb_resources, doc_id, f"status = 'embedding', chunks_total = 2, {STALE}")
    next_event = await events(base_id)

    reaped = await reap_documents(kb_resources)

    assert doc_id in reaped.requeued
    assert doc_id not in reaped.failed
    row = await _row(kb_resources, doc_id)
    assert (row.status, row.ingest_attempts) == ("queued", 1)
    event = await next_event()
    assert event["type"] == "document.progress"
    assert (event["document_id"], event["status"]) == (str(doc_id), "queued")
    assert event["knowledge_base_id"] == str(base_id)
    [job] = await _job_keys(kb_resources, "arq:job:", doc_id)
    assert "reaped" in job

    await drain_queue()

    row = await _row(kb_resources, doc_id)
    assert row.status == "ready", row.error
    assert row.chunks_total == row.chunks_done > 0
    assert (row.ingest_attempts, row.heartbeat_at) == (0, None)  # settled: attempts start anew
    [result] = await _job_keys(kb_resources, "arq:result:", doc_id)
    key = result.removeprefix("arq:result:")
    info = await Job(key, kb_resources.arq, _deserializer=job_deserializer).result_info()
    assert info is not None
    assert info.result["status"] == "ready"
    # the dead worker's job, retried by arq much later, finds that content ingested
    async with kb_resources.engine.connect() as conn:
        digest = await conn.scalar(
            text("SELECT content_hash FROM documents WHERE id = :id"), {"id": doc_id}
        )
    late = await ingest_stored_document(kb_resources, str(doc_id), content_hash=digest)
    assert late.status == "skipped"
    assert (await _row(kb_resources, doc_id)).status == "ready"


async def test_an_edit_queued_while_the_old_version_finished_is_still_ingested(
    kb_resources: Resources, drain_queue: Callable[[], Awaitable[None]]
) -> None:
    base_id, doc_id = await _upload(kb_resources)
    await drain_queue()
    async with kb_resources.engine.connect() as conn:
        ws = await conn.scalar(
            text("SELECT workspace_id FROM documents WHERE id = :id"), {"id": doc_id}
        )
    edited = GUIDE + b"\n## Bearings\n\nBabbitt bearings carry the rotor.\n"
    [again] = await kb.upload_documents(
        kb_resources, ws, base_id, [IncomingFile("guide.md", edited, "upload")]
    )
    assert again.id == doc_id
    # the old version's job was still running and marked the row ready after the upload
    await _set(kb_resources, doc_id, "status = 'ready'")
    await drain_queue()
    async with kb_resources.engine.connect() as conn:
        texts = (
            await conn.scalars(
                text("SELECT text FROM chunks WHERE document_id = :id"), {"id": doc_id}
            )
        ).all()
    assert any("Babbitt" in t for t in texts)


async def test_a_crash_loop_ends_failed_with_the_reason(
    kb_resources: Resources, drain_queue: Callable[[], Awaitable[None]], events: Any
) -> None:
    base_id, doc_id = await _upload(kb_resources)
    await _lose_jobs(kb_resources, doc_id)
    await _set(
        kb_resources,
        doc_id,
        f"status = 'parsing', ingest_attempts = {MAX_INGEST_ATTEMPTS - 1}, {STALE}",
    )
    next_event = await events(base_id)

    reaped = await reap_documents(kb_resources)

    assert doc_id in reaped.failed
    assert doc_id not in reaped.requeued
    row = await _row(kb_resources, doc_id)
    assert row.status == "failed"
    assert row.error == worker_stopped_reason()
    assert f"stopped while ingesting this document {MAX_INGEST_ATTEMPTS} times" in row.error
    assert row.ingest_attempts == 0  # uploading it again starts with fresh attempts
    event = await next_event()
    assert (event["document_id"], event["status"]) == (str(doc_id), "failed")
    assert event["error"] == worker_stopped_reason()
    assert await _job_keys(kb_resources, "arq:job:", doc_id) == []  # nothing was queued
    # the next pass leaves a failed document alone
    again = await reap_documents(kb_resources)
    assert doc_id not in again.requeued + again.failed
    # uploading the same file again queues it again, and it ingests
    base_row = await _row(kb_resources, doc_id)
    assert base_row.status == "failed"
    async with kb_resources.engine.connect() as conn:
        ws = await conn.scalar(
            text("SELECT workspace_id FROM documents WHERE id = :id"), {"id": doc_id}
        )
    [same] = await kb.upload_documents(
        kb_resources, ws, base_id, [IncomingFile("guide.md", GUIDE, "upload")]
    )
    assert same.id == doc_id
    assert not same.unchanged
    await drain_queue()
    assert (await _row(kb_resources, doc_id)).status == "ready"


async def test_live_and_waiting_documents_are_left_alone(
    kb_resources: Resources, drain_queue: Callable[[], Awaitable[None]]
) -> None:
    _, live = await _upload(kb_resources, "live.md")
    _, waiting = await _upload(kb_resources, "waiting.md")
    _, lost = await _upload(kb_resources, "lost.md")
    # live: a job is embedding it and beating (updated_at is old: a long embedding batch)
    await _lose_jobs(kb_resources, live)
    await _set(
        kb_resources,
        live,
        "status = 'embedding', heartbeat_at = now(), updated_at = now() - interval '1 hour'",
    )
    # waiting: queued for long, but its job is still in the queue (a busy worker)
    await _set(kb_resources, waiting, STALE)
    # lost: queued for long and Redis lost its job
    await _lose_jobs(kb_resources, lost)
    await _set(kb_resources, lost, STALE)

    reaped = await reap_documents(kb_resources)

    assert live not in reaped.requeued + reaped.failed
    assert waiting not in reaped.requeued + reaped.failed
    assert lost in reaped.requeued
    live_row = await _row(kb_resources, live)
    assert (live_row.status, live_row.ingest_attempts) == ("embedding", 0)
    assert len(await _job_keys(kb_resources, "arq:job:", waiting)) == 1  # no second job
    assert len(await _job_keys(kb_resources, "arq:job:", lost)) == 1  # a new one

    await drain_queue()

    assert (await _row(kb_resources, waiting)).status == "ready"
    assert (await _row(kb_resources, lost)).status == "ready"
    assert (await _row(kb_resources, live)).status == "embedding"  # still its own job's


async def test_a_document_whose_job_a_worker_took_and_died_with_before_its_claim_is_requeued(
    kb_resources: Resources, drain_queue: Callable[[], Awaitable[None]]
) -> None:
    """A worker took the document's job (arq's in-progress key lives for the whole job timeout)
    and was SIGKILLed before it claimed the document (still ``queued``): the reaper drops that
    job and queues a new one instead of waiting for the key to expire."""
    _, doc_id = await _upload(kb_resources)
    [job_key] = await _job_keys(kb_resources, "arq:job:", doc_id)
    dead_job = job_key.removeprefix("arq:job:")
    await kb_resources.redis.set(f"arq:in-progress:{dead_job}", b"1", px=3_600_000)
    reaped = await reap_documents(kb_resources)  # fresh: its worker may yet claim it
    assert doc_id not in reaped.requeued + reaped.failed
    await _set(kb_resources, doc_id, STALE)

    reaped = await reap_documents(kb_resources)

    assert doc_id in reaped.requeued
    [new_key] = await _job_keys(kb_resources, "arq:job:", doc_id)
    assert new_key != job_key
    assert await _job_keys(kb_resources, "arq:in-progress:", doc_id) == []
    queued = await kb_resources.redis.zrange(kb_resources.settings.queue_name, 0, -1)
    assert dead_job.encode() not in queued
    await drain_queue()
    row = await _row(kb_resources, doc_id)
    assert (row.status, row.ingest_attempts) == ("ready", 0)


async def test_a_job_claims_its_document_and_beats(kb_resources: Resources) -> None:
    _, doc_id = await _upload(kb_resources)
    await _set(kb_resources, doc_id, STALE)
    await claim_document(kb_resources, doc_id)
    row = await _row(kb_resources, doc_id)
    assert row.status == "parsing"
    assert row.heartbeat_at is not None
    assert doc_id not in (await reap_documents(kb_resources)).requeued
    await _set(kb_resources, doc_id, STALE)
    assert await touch_documents(kb_resources, [doc_id]) == 1
    assert doc_id not in (await reap_documents(kb_resources)).requeued
    await _set(kb_resources, doc_id, "status = 'ready'")
    assert await touch_documents(kb_resources, [doc_id]) == 0  # settled rows are not touched


async def test_a_reembed_keeps_the_reaper_off_its_queued_documents(
    kb_resources: Resources,
) -> None:
    base_id, doc_id = await _upload(kb_resources)
    await _lose_jobs(kb_resources, doc_id)  # like a re-embed: queued, no ingest job of its own
    await _set(kb_resources, doc_id, STALE)
    assert await touch_documents(kb_resources, knowledge_base_id=base_id) == 1
    assert doc_id not in (await reap_documents(kb_resources)).requeued
    assert await _job_keys(kb_resources, "arq:job:", doc_id) == []
    await _set(kb_resources, doc_id, STALE)  # the re-embed's worker died: the beat stops
    assert doc_id in (await reap_documents(kb_resources)).requeued


async def test_a_reaper_leaves_the_documents_of_another_queue_alone(
    kb_resources: Resources, drain_queue: Callable[[], Awaitable[None]]
) -> None:
    """A document claimed by a worker of this queue whose worker died is re-queued by this
    queue's reapers only: a worker pool on another queue (same database) leaves it alone."""
    _, doc_id = await _upload(kb_resources)
    await claim_document(kb_resources, doc_id)  # records the claiming worker's queue
    await _lose_jobs(kb_resources, doc_id)
    await _set(kb_resources, doc_id, f"status = 'embedding', {STALE}")
    other = dataclasses.replace(
        kb_resources,
        settings=kb_resources.settings.model_copy(
            update={"queue_name": f"other:{uuid.uuid4().hex}"}
        ),
    )
    assert doc_id not in (await reap_documents(other)).requeued
    assert (await _row(kb_resources, doc_id)).status == "embedding"
    assert await other.redis.zcard(other.settings.queue_name) == 0
    assert doc_id in (await reap_documents(kb_resources)).requeued
    await drain_queue()
    assert (await _row(kb_resources, doc_id)).status == "ready"
