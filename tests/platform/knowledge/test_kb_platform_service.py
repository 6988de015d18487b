"""The platform knowledge service: node service scoping, jobs (ingest, re-embed), storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from reporunner.knowledge import SearchRequest
from reporunner.knowledge.nodes import KnowledgeIngest, KnowledgeSearch
from reporunner.nodes.errors import ConflictError, NotFoundError
from reporunner.nodes.testing import NodeTestContext, run_node
from reporunner.platform.db.session import transaction
from reporunner.platform.knowledge import (
    KNOWLEDGE,
    IncomingFile,
    knowledge_provider,
    knowledge_service,
)
from reporunner.platform.knowledge import service as kb
from reporunner.platform.knowledge.ingest import start_reembed
from reporunner.platform.knowledge.schemas import KnowledgeBaseCreate, ReembedIn
from reporunner.platform.originals import (
    OriginalMissing,
    check_path,
    fs_safe_name,
    original_path,
    read_all,
)
from reporunner.platform.resources import Resources
from reporunner.platform.worker.node_services import PROVIDERS


def test_knowledge_provider_is_registered_with_the_executions() -> None:
    assert knowledge_provider in PROVIDERS


def test_fs_safe_name_keeps_paths_out() -> None:
    assert fs_safe_name("../../etc/passwd") == "passwd"
    assert fs_safe_name("a\x00b.txt") == "a_b.txt"
    assert fs_safe_name("..") == "document"
    assert fs_safe_name(".bashrc") == "bashrc"
    assert fs_safe_name("Résumé 2024.pdf") == "Resume_2024.pdf"
    long = fs_safe_name("y" * 300 + ".markdown")
    assert len(long) <= 120
    assert long.endswith(".markdown")


def test_original_paths_are_built_from_ids_and_checked_against_the_workspace() -> None:
    digest = "a" * 64
    ws, base = uuid.uuid4(), uuid.uuid4()
    path = original_path(ws, base, digest, "../../x.txt")
    assert path == f"{ws}/{base}/{digest}/x.txt"
    assert check_path(ws, path) == (base, digest)
    with pytest.raises(OriginalMissing):  # another workspace's path is never looked up
        check_path(uuid.uuid4(), path)
    for bad in ("../outside.txt", f"{ws}/../{base}/{digest}/x.txt", f"{ws}/{base}/{digest}/.x"):
        with pytest.raises(OriginalMissing):
            check_path(ws, bad)
    with pytest.raises(ValueError, match="sha256"):
        original_path(ws, base, "../../etc", "x")


async def _workspace(resources: Resources) -> uuid.UUID:
    from reporunner.platform.auth import create_workspace_with_owner

    slug = f"ws-{uuid.uuid4().hex[:10]}"
    async with resources.sessions() as session, session.begin():
        workspace, _, _ = await create_workspace_with_owner(
            session, slug=slug, email=f"{slug}@example.test"
        )
    return workspace.id


async def test_node_service_is_scoped_to_its_workspace(kb_resources: Resources) -> None:
    ws_a, ws_b = await _workspace(kb_resources), await _workspace(kb_resources)
    name, service_a = knowledge_provider(kb_resources, ws_a)
    assert name == KNOWLEDGE
    ctx_a = NodeTestContext(workspace_id=str(ws_a), services={KNOWLEDGE: service_a})
    out = await run_node(
        KnowledgeIngest,
        {
            "knowledge_base": "faq",
            "name": "faq.md",
            "content": "# Billing\n\nInvoices are sent on the first day of each month.\n",
            "create": True,
        },
        ctx=ctx_a,
    )
    [item] = out.ports["main"]
    assert item["status"] == "ready"
    assert item["chunks_total"] >= 1
    found = await run_node(
        KnowledgeSearch, {"knowledge_base": "faq", "query": "when are invoices sent"}, ctx=ctx_a
    )
    [result] = found.ports["main"]
    assert result["results"][0]["document_name"] == "faq.md"
    assert result["results"][0]["heading_path"] == ["Billing"]

    # the original was stored like an upload (so a re-embed can ingest it again)
    async with transaction(kb_resources.sessions) as db:
        base = (await kb.list_bases(db, ws_a))[0]
    async with transaction(kb_resources.sessions) as db:
        [doc] = await kb.list_documents(db, ws_a, base.id)
    assert doc.storage_path
    assert b"Invoices" in await read_all(kb.originals(kb_resources), ws_a, doc.storage_path)

    service_b = knowledge_service(kb_resources, ws_b)
    request = SearchRequest(query="invoices")
    for knowledge_base in ("faq", str(base.id)):
        with pytest.raises(NotFoundError):
            await service_b.search(str(ws_b), knowledge_base, request)
    with pytest.raises(NotFoundError):  # B's service never acts for A, whatever it is told
        await service_b.search(str(ws_a), "faq", request)
    ctx_b = NodeTestContext(workspace_id=str(ws_b), services={KNOWLEDGE: service_b})
    out_b = await run_node(
        KnowledgeIngest,
        {"knowledge_base": "faq", "name": "x.txt", "content": "other tenant", "create": True},
        ctx=ctx_b,
    )
    assert out_b.ports["main"][0]["status"] == "ready"
    hits = (await service_b.search(str(ws_b), "faq", SearchRequest(query="invoices"))).hits
    assert all(h.document_name == "x.txt" for h in hits)


async def _chunk_vectors(resources: Resources, base_id: uuid.UUID) -> list[Sequence[Any]]:
    async with resources.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT vector_dims(embedding) FROM chunks WHERE knowledge_base_id = :kb"),
            {"kb": base_id},
        )
        return list(rows)


async def test_reembed_moves_a_base_to_a_new_model(
    kb_resources: Resources, drain_queue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = await _workspace(kb_resources)
    base = await kb.create_base(kb_resources, ws, KnowledgeBaseCreate(name="moving"))
    files = [
        IncomingFile("a.txt", b"Pumps move water through the plant.", "upload"),
        IncomingFile("b.md", b"# Turbines\n\nTurbines turn steam into power.\n", "upload"),
    ]
    accepted = await kb.upload_documents(kb_resources, ws, base.id, files)
    await drain_queue()
    async with transaction(kb_resources.sessions) as db:
        statuses = [(await kb.get_document(db, ws, base.id, d.id)).status for d in accepted]
    assert statuses == ["ready", "ready"]
    assert {dims for (dims,) in await _chunk_vectors(kb_resources, base.id)} == {384}

    import litellm

    class HashEmbeddings(litellm.CustomLLM):  # type: ignore[misc]
        """An 8-dimensional embedding model behind litellm's real code path (no network)."""

        async def aembedding(
            self, model: str, input: list[str], model_response: Any, *args: Any, **kwargs: Any
        ) -> Any:
            model_response.data = [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": [float(len(t) % (j + 2)) + 1.0 for j in range(8)],
                }
                for i, t in enumerate(input)
            ]
            model_response.model = model
            return model_response

    monkeypatch.setattr(
        litellm, "custom_provider_map", [{"provider": "kbtest", "custom_handler": HashEmbeddings()}]
    )  # fmt: skip
    moving = await start_reembed(
        kb_resources, ws, base.id, ReembedIn(embedding_model="kbtest/e8", embedding_dim=8)
    )
    assert moving.settings.get("reembedding") is True
    with pytest.raises(ConflictError, match="already being re-embedded"):
        await start_reembed(
            kb_resources, ws, base.id, ReembedIn(embedding_model="kbtest/e8", embedding_dim=8)
        )
    with pytest.raises(ConflictError, match="being re-embedded"):
        await kb.upload_documents(
            kb_resources, ws, base.id, [IncomingFile("c.txt", b"late", "upload")]
        )
    await drain_queue()
    async with transaction(kb_resources.sessions) as db:
        moved = await kb.get_base(db, ws, base.id)
    assert (moved.embedding_model, moved.embedding_dim) == ("kbtest/e8", 8)
    assert "reembedding" not in moved.settings
    assert {dims for (dims,) in await _chunk_vectors(kb_resources, base.id)} == {8}
    async with transaction(kb_resources.sessions) as db:
        docs = await kb.list_documents(db, ws, base.id)
    assert {d.status for d in docs} == {"ready"}
    result = await kb.search(kb_resources, ws, base.id, SearchRequest(query="turbines steam"))
    assert result.hits
    assert result.hits[0].document_name == "b.md"


async def test_ingest_job_for_replaced_or_deleted_content_does_nothing(
    kb_resources: Resources,
) -> None:
    from reporunner.platform.knowledge.ingest import ingest_stored_document

    ws = await _workspace(kb_resources)
    base = await kb.create_base(kb_resources, ws, KnowledgeBaseCreate(name="jobs"))
    [doc] = await kb.upload_documents(
        kb_resources, ws, base.id, [IncomingFile("a.txt", b"first version", "upload")]
    )
    stale = await ingest_stored_document(kb_resources, str(doc.id), content_hash="0" * 64)
    assert stale.status == "superseded"
    gone = await ingest_stored_document(kb_resources, str(uuid.uuid4()))
    assert gone.status == "deleted"
    async with transaction(kb_resources.sessions) as db:
        record = await kb.get_document(db, ws, base.id, doc.id)
    assert record.storage_path
    await kb.originals(kb_resources).delete(ws, record.storage_path)
    missing = await ingest_stored_document(kb_resources, str(doc.id))
    assert missing.status == "failed"
    assert "upload the document again" in (missing.error or "")


async def test_an_edited_upload_replaces_its_stored_original(kb_resources: Resources) -> None:
    ws = await _workspace(kb_resources)
    base = await kb.create_base(kb_resources, ws, KnowledgeBaseCreate(name="edits"))
    first = IncomingFile("../guide.txt", b"version one", "upload")
    [doc] = await kb.upload_documents(kb_resources, ws, base.id, [first])
    [same] = await kb.upload_documents(kb_resources, ws, base.id, [first])
    assert same.unchanged
    edited = IncomingFile("guide.txt", b"version two", "upload")
    [again] = await kb.upload_documents(kb_resources, ws, base.id, [edited])
    assert again.id == doc.id
    assert not again.unchanged
    async with kb_resources.engine.connect() as conn:
        stored = (
            await conn.scalars(
                text("SELECT path FROM original_blobs WHERE workspace_id = :ws"), {"ws": ws}
            )
        ).all()
    assert [await read_all(kb.originals(kb_resources), ws, p) for p in stored] == [b"version two"]
    _, data = await kb.read_original(kb_resources, ws, base.id, doc.id)
    assert data == b"version two"


async def test_an_upload_whose_job_cannot_be_queued_fails_visibly(
    kb_resources: Resources, unused_tcp_port: int
) -> None:
    from dataclasses import replace

    from arq.connections import ArqRedis

    from reporunner.platform.knowledge.service import IngestQueueUnavailable

    ws = await _workspace(kb_resources)
    base = await kb.create_base(kb_resources, ws, KnowledgeBaseCreate(name="no-queue"))
    dead = ArqRedis(host="127.0.0.1", port=unused_tcp_port, socket_connect_timeout=1)
    broken = replace(kb_resources, arq=dead)
    try:
        with pytest.raises(IngestQueueUnavailable, match="upload the file again"):
            await kb.upload_documents(
                broken, ws, base.id, [IncomingFile("a.txt", b"words", "upload")]
            )
    finally:
        await dead.aclose()
    async with transaction(kb_resources.sessions) as db:
        [doc] = await kb.list_documents(db, ws, base.id)
    assert doc.status == "failed"
    assert "could not queue" in (doc.error or "")


async def test_follow_base_relays_live_events_until_settled(kb_resources: Resources) -> None:
    import asyncio
    from datetime import UTC, datetime

    from reporunner.knowledge import DocumentRecord, IngestProgress
    from reporunner.platform.knowledge import progress_event, publish_event
    from reporunner.platform.knowledge.events import follow_base

    kb_id, doc_a, doc_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    queued = [
        DocumentRecord(doc, uuid.uuid4(), kb_id, name, "upload", "text/plain", 1, "h", None,
                       "queued", None, 0, 0, {}, now, now)
        for doc, name in ((doc_a, "a.txt"), (doc_b, "b.txt"))
    ]  # fmt: skip
    subscribed = asyncio.Event()

    async def snapshot() -> list[DocumentRecord]:
        subscribed.set()  # the channel is subscribed before the snapshot is read
        return queued

    async def collect() -> list[dict[str, Any] | None]:
        return [
            e async for e in follow_base(
                kb_resources.redis, kb_id, snapshot, until_settled=True, idle_seconds=0.2
            )
        ]  # fmt: skip

    follower = asyncio.create_task(collect())
    await asyncio.wait_for(subscribed.wait(), 10)
    for progress in (
        IngestProgress(doc_a, "parsing"),
        IngestProgress(doc_a, "embedding", 1, 3),
        IngestProgress(doc_a, "ready", 3, 3),
        IngestProgress(doc_b, "failed", error="corrupt"),
    ):
        await publish_event(kb_resources.redis, kb_id, progress_event(kb_id, progress))
    events = [e for e in await asyncio.wait_for(follower, 20) if e is not None]
    assert [e["type"] for e in events[:2]] == ["document.state", "document.state"]
    assert [(e["document_id"], e["status"]) for e in events[2:]] == [
        (str(doc_a), "parsing"),
        (str(doc_a), "embedding"),
        (str(doc_a), "ready"),
        (str(doc_b), "failed"),
    ]
    assert events[3]["chunks_done"] == 1
    assert events[3]["chunks_total"] == 3
    assert events[-1]["error"] == "corrupt"


async def test_searches_rerank_with_the_configured_cross_encoder(
    kb_settings: Any, drain_queue: Any, tmp_path: Path
) -> None:
    """A real (untrained-head) CrossEncoder built from the bundled MiniLM, saved locally."""
    from sentence_transformers import CrossEncoder

    from reporunner.knowledge.embeddings import minilm_model_path
    from reporunner.platform.resources import open_resources

    folder = tmp_path / "cross-encoder"
    CrossEncoder(str(minilm_model_path()), num_labels=1, local_files_only=True).save(str(folder))
    resources = await open_resources(kb_settings.model_copy(update={"rerank_model": folder}))
    try:
        ws = await _workspace(resources)
        base = await kb.create_base(resources, ws, KnowledgeBaseCreate(name="rr"))
        texts = [b"Gearbox oil is changed yearly.", b"Pumps need new seals.", b"Fans are quiet."]
        files = [IncomingFile(f"{i}.txt", t, "upload") for i, t in enumerate(texts)]
        await kb.upload_documents(resources, ws, base.id, files)
        await drain_queue()
        request = SearchRequest(query="gearbox oil", top_k=3, rerank=True)
        result = await kb.search(resources, ws, base.id, request)
    finally:
        await resources.close()
    assert result.notes == ()
    assert sorted(h.ranks["rerank"] for h in result.hits) == [1, 2, 3]


async def test_an_original_left_on_the_data_dir_by_an_earlier_version_names_migrate(
    kb_resources: Resources,
) -> None:
    """Before `reporunner migrate` ran, a download and an ingestion say what to do."""
    from reporunner.platform.knowledge.ingest import ingest_stored_document
    from reporunner.platform.originals import local_root

    ws = await _workspace(kb_resources)
    base = await kb.create_base(kb_resources, ws, KnowledgeBaseCreate(name="legacy"))
    [doc] = await kb.upload_documents(
        kb_resources, ws, base.id, [IncomingFile("old.txt", b"kept on disk", "upload")]
    )
    async with transaction(kb_resources.sessions) as db:
        record = await kb.get_document(db, ws, base.id, doc.id)
    assert record.storage_path
    await kb.originals(kb_resources).delete(ws, record.storage_path)
    local = local_root(kb_resources.settings.data_dir) / record.storage_path
    local.parent.mkdir(parents=True)
    local.write_bytes(b"kept on disk")
    with pytest.raises(NotFoundError, match="run `reporunner migrate`"):
        await kb.read_original(kb_resources, ws, base.id, doc.id)
    with pytest.raises(NotFoundError, match="run `reporunner migrate`"):
        await kb.stream_original(kb_resources, ws, base.id, doc.id)
    failed = await ingest_stored_document(kb_resources, str(doc.id))
    assert failed.status == "failed"
    assert "reporunner migrate" in (failed.error or "")
