"""The store and pipeline on real Postgres + pgvector with the real MiniLM embedder."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import text

from reporunner.knowledge.embeddings import SentenceTransformerEmbedder
from reporunner.knowledge.errors import EmbeddingError
from reporunner.knowledge.models import SearchRequest
from reporunner.knowledge.pipeline import (
    IngestProgress,
    add_and_ingest,
    content_hash_bytes,
    ingest_documents,
)
from reporunner.knowledge.store import KnowledgeStore
from reporunner.nodes.errors import NotFoundError, ValidationFailed


class CountingEmbedder:
    """The real MiniLM embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.embedded: list[str] = []
        self.model_name, self.dim, self.max_tokens = inner.model_name, inner.dim, inner.max_tokens

    def token_counter(self) -> Any:
        return self.inner.token_counter()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return await self.inner.embed(texts)

    async def embed_query(self, text: str) -> list[float]:
        return await self.inner.embed_query(text)


async def _assert_term_stats_exact(store: KnowledgeStore, base_id: uuid.UUID) -> None:
    """knowledge_terms and settings._stats match a recount over the base's chunks."""
    async with store.engine.connect() as conn:
        wrong = await conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT u.lexeme, count(*) AS n FROM chunks c, "
                "unnest(c.tsv) u WHERE c.knowledge_base_id = :kb GROUP BY u.lexeme) real "
                "FULL JOIN (SELECT term, df FROM knowledge_terms WHERE knowledge_base_id = :kb "
                "AND df > 0) kept ON kept.term = real.lexeme "
                "WHERE real.n IS DISTINCT FROM kept.df"
            ),
            {"kb": base_id},
        )
        chunks, chars = (
            await conn.execute(
                text(
                    "SELECT count(*), coalesce(sum(char_end - char_start), 0) FROM chunks "
                    "WHERE knowledge_base_id = :kb"
                ),
                {"kb": base_id},
            )
        ).one()
        stats = await conn.scalar(
            text("SELECT settings -> '_stats' FROM knowledge_bases WHERE id = :kb"),
            {"kb": base_id},
        )
    assert wrong == 0
    assert (stats or {}).get("chunks", 0) == chunks
    assert (stats or {}).get("chars", 0) == chars  # BM25's document lengths, in characters


async def _base(store: KnowledgeStore, ws: uuid.UUID, **kw: Any) -> Any:
    return await store.create_base(
        ws,
        f"kb-{uuid.uuid4().hex[:6]}",
        embedding_model="all-MiniLM-L6-v2",
        embedding_dim=384,
        **kw,
    )


async def test_pdf_citations_point_at_page_and_offsets(
    kb_store: KnowledgeStore, minilm: Any, pdf_factory: Callable[[list[str]], bytes]
) -> None:
    ws = uuid.uuid4()
    base = await _base(kb_store, ws)
    pages = [
        "Chapter one covers the history of the company.",
        "Chapter two: the hydraulic pump must be primed before first use.",
        "Chapter three lists the warranty terms and conditions.",
    ]
    events: list[IngestProgress] = []

    async def progress(event: IngestProgress) -> None:
        events.append(event)

    result = await add_and_ingest(
        kb_store, ws, base.id, "manual.pdf", pdf_factory(pages), minilm, progress=progress
    )
    assert result.status == "ready"
    assert [e.status for e in events][:2] == ["parsing", "embedding"]
    assert events[-1].status == "ready"
    assert events[-1].chunks_done == events[-1].chunks_total == 3
    document = await kb_store.get_document(ws, result.document_id)
    assert (document.status, document.chunks_total, document.chunks_done) == ("ready", 3, 3)
    assert document.mime_type == "application/pdf"

    for mode in ("vector", "keyword", "hybrid"):
        found = await kb_store.search(
            ws, base.id, SearchRequest(query="how to prime the hydraulic pump", mode=mode), minilm
        )
        top = found.hits[0]
        assert top.page == 2, mode
        assert top.document_name == "manual.pdf"
        assert "primed" in top.text
        assert mode in top.ranks or mode == "hybrid"
    phrase = SearchRequest(query='"hydraulic pump" -warranty', mode="keyword")
    assert [h.page for h in (await kb_store.search(ws, base.id, phrase, minilm)).hits] == [2]
    negated = SearchRequest(query="chapter -primed", mode="keyword")
    assert [h.page for h in (await kb_store.search(ws, base.id, negated, minilm)).hits] == [1, 3]
    hybrid = found.hits[0]
    assert set(hybrid.ranks) == {"vector", "keyword"}
    # The offsets index the parsed document text: page 2 starts after page 1 and a blank line.
    assert hybrid.char_start == len(pages[0]) + 2
    assert hybrid.char_end == hybrid.char_start + len(hybrid.text)


async def test_reupload_is_a_noop_and_edits_reembed_only_changed_chunks(
    kb_store: KnowledgeStore, minilm: SentenceTransformerEmbedder
) -> None:
    ws = uuid.uuid4()
    base = await _base(kb_store, ws, chunk_size=40, chunk_overlap=0)
    paragraphs = [f"Paragraph {i} is about topic number {i} and nothing else." for i in range(6)]
    original = "\n\n".join(paragraphs).encode()
    embedder = CountingEmbedder(minilm)
    first = await add_and_ingest(kb_store, ws, base.id, "notes.txt", original, embedder)
    assert first.status == "ready"
    assert first.chunks_total > 1
    embedded_first = len(embedder.embedded)
    assert embedded_first == first.chunks_total

    async with kb_store.engine.connect() as conn:
        ids_before = (
            await conn.execute(
                text("SELECT id FROM chunks WHERE document_id = :d ORDER BY ordinal"),
                {"d": first.document_id},
            )
        ).all()
    again = await add_and_ingest(kb_store, ws, base.id, "notes.txt", original, embedder)
    assert again.document_id == first.document_id
    assert len(embedder.embedded) == embedded_first  # nothing embedded
    async with kb_store.engine.connect() as conn:
        ids_after = (
            await conn.execute(
                text("SELECT id FROM chunks WHERE document_id = :d ORDER BY ordinal"),
                {"d": first.document_id},
            )
        ).all()
    assert ids_after == ids_before  # not even rewritten

    edited = original.replace(b"topic number 3", b"the edited paragraph")
    changed = await add_and_ingest(kb_store, ws, base.id, "notes.txt", edited, embedder)
    new_texts = embedder.embedded[embedded_first:]
    assert changed.chunks_reused == changed.chunks_total - changed.chunks_embedded
    assert 1 <= changed.chunks_embedded < changed.chunks_total
    assert all("edited" in t for t in new_texts)
    document = await kb_store.get_document(ws, first.document_id)
    assert document.content_hash == content_hash_bytes(edited)
    await _assert_term_stats_exact(kb_store, base.id)


async def test_filtered_search_still_returns_top_k(
    kb_store: KnowledgeStore, minilm: SentenceTransformerEmbedder
) -> None:
    ws = uuid.uuid4()
    base = await _base(kb_store, ws)
    rows = ["sku,category,price,description"]
    for i in range(300):
        category = "rare" if i % 30 == 0 else "common"
        rows.append(f"S{i},{category},{i},Industrial part number {i} for pumps and valves")
    result = await add_and_ingest(
        kb_store, ws, base.id, "parts.csv", "\n".join(rows).encode(), minilm
    )
    assert result.chunks_total == 300
    await _assert_term_stats_exact(kb_store, base.id)
    for mode in ("vector", "keyword", "hybrid"):
        request = SearchRequest(
            query="industrial pumps part",
            mode=mode,
            top_k=8,
            filters={"category": "rare"},
            ef_search=10,
        )
        found = await kb_store.search(ws, base.id, request, minilm)
        assert len(found.hits) == 8, mode
        assert {h.metadata["category"] for h in found.hits} == {"rare"}

    ranged = SearchRequest(
        query="part",
        mode="vector",
        top_k=50,
        filters={"price": {"gte": 100, "lt": 110}, "sku": {"in": ["S100", "S105", "S999"]}},
    )
    found = await kb_store.search(ws, base.id, ranged, minilm)
    assert sorted(h.metadata["sku"] for h in found.hits) == ["S100", "S105"]
    by_doc = SearchRequest(
        query="part",
        mode="keyword",
        top_k=3,
        filters={"mime_type": "text/csv", "document_name": {"in": ["parts.csv"]}, "page": None},
    )
    with pytest.raises(ValidationFailed, match="page"):
        await kb_store.search(ws, base.id, by_doc, minilm)
    by_doc = by_doc.model_copy(update={"filters": {"mime_type": "text/csv"}})
    assert len((await kb_store.search(ws, base.id, by_doc, minilm)).hits) == 3


async def test_one_workspace_never_sees_anothers_chunks(
    kb_store: KnowledgeStore, minilm: SentenceTransformerEmbedder
) -> None:
    ws_a, ws_b = uuid.uuid4(), uuid.uuid4()
    base_a = await _base(kb_store, ws_a)
    base_b = await _base(kb_store, ws_b)
    secret = b"The launch code of workspace A is swordfish."
    doc_a = await add_and_ingest(kb_store, ws_a, base_a.id, "secret.txt", secret, minilm)
    await add_and_ingest(kb_store, ws_b, base_b.id, "public.txt", b"Nothing to see here.", minilm)

    with pytest.raises(NotFoundError):
        await kb_store.search(ws_b, base_a.id, SearchRequest(query="launch code"), minilm)
    with pytest.raises(NotFoundError):
        await kb_store.get_document(ws_b, doc_a.document_id)
    sneaky_filters: list[dict[str, Any]] = [
        {},
        {"document_id": str(doc_a.document_id)},
        {"workspace_id": str(ws_a)},
        {"document_name": "secret.txt"},
        {"knowledge_base_id": str(base_a.id)},
    ]
    for filters in sneaky_filters:
        for mode in ("vector", "keyword", "hybrid"):
            request = SearchRequest(query="launch code swordfish", mode=mode, filters=filters)
            found = await kb_store.search(ws_b, base_b.id, request, minilm)
            assert all("swordfish" not in h.text for h in found.hits)
    found = await kb_store.search(ws_a, base_a.id, SearchRequest(query="swordfish"), minilm)
    assert "swordfish" in found.hits[0].text


async def test_bad_files_fail_alone_and_delete_removes_chunks(
    kb_store: KnowledgeStore,
    minilm: SentenceTransformerEmbedder,
    pdf_factory: Callable[[list[str]], bytes],
) -> None:
    ws = uuid.uuid4()
    base = await _base(kb_store, ws)
    good, bad = b"Good file about turbines.", pdf_factory(["broken"])[:300]
    doc_good, _ = await kb_store.add_document(
        ws, base.id, "../../etc/passwd", content_hash=content_hash_bytes(good), size_bytes=4
    )
    assert doc_good.name == "passwd"
    doc_bad, _ = await kb_store.add_document(
        ws, base.id, "bad.pdf", content_hash=content_hash_bytes(bad), size_bytes=len(bad)
    )
    results = await ingest_documents(kb_store, ws, [(doc_bad.id, bad), (doc_good.id, good)], minilm)
    assert [r.status for r in results] == ["failed", "ready"]
    failed = await kb_store.get_document(ws, doc_bad.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "PDF" in failed.error

    await kb_store.delete_document(ws, doc_good.id)
    async with kb_store.engine.connect() as conn:
        left = await conn.scalar(
            text("SELECT count(*) FROM chunks WHERE document_id = :d"), {"d": doc_good.id}
        )
    assert left == 0
    await _assert_term_stats_exact(kb_store, base.id)
    with pytest.raises(NotFoundError):
        await kb_store.delete_document(ws, doc_good.id)
    await kb_store.delete_base(ws, base.id)
    assert await kb_store.find_base(ws, base.name) is None


async def test_reset_embeddings_clears_chunks_and_statistics(
    kb_store: KnowledgeStore, minilm: SentenceTransformerEmbedder
) -> None:
    ws = uuid.uuid4()
    base = await _base(kb_store, ws)
    data = b"Turbine blades crack under thermal fatigue.\n\nInspect them yearly."
    first = await add_and_ingest(kb_store, ws, base.id, "blades.txt", data, minilm)
    moved = await kb_store.reset_embeddings(
        ws, base.id, embedding_model=minilm.model_name, embedding_dim=minilm.dim
    )
    assert "_stats" not in moved.settings
    document = await kb_store.get_document(ws, first.document_id)
    assert (document.status, document.chunks_total) == ("queued", 0)
    async with kb_store.engine.connect() as conn:
        terms = await conn.scalar(
            text("SELECT count(*) FROM knowledge_terms WHERE knowledge_base_id = :kb"),
            {"kb": base.id},
        )
    assert terms == 0
    results = await ingest_documents(kb_store, ws, [(first.document_id, data)], minilm)
    assert results[0].status == "ready"
    await _assert_term_stats_exact(kb_store, base.id)
    found = await kb_store.search(ws, base.id, SearchRequest(query="thermal fatigue"), minilm)
    assert "Turbine" in found.hits[0].text


class FailingEmbedder(CountingEmbedder):
    """Fails on its second embedding call (a model server going away mid-ingest)."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.embedded:
            raise EmbeddingError("model server went away")
        return await super().embed(texts)


async def test_embedding_failure_leaves_no_document_half_done(
    kb_store: KnowledgeStore, minilm: SentenceTransformerEmbedder
) -> None:
    ws = uuid.uuid4()
    base = await _base(kb_store, ws, chunk_size=24, chunk_overlap=0)
    texts = [
        b"Short note.",
        "\n\n".join(f"Paragraph {i} of the long manual about valves." for i in range(8)).encode(),
    ]
    files = []
    for i, data in enumerate(texts):
        document, _ = await kb_store.add_document(
            ws, base.id, f"doc{i}.txt", content_hash=content_hash_bytes(data), size_bytes=len(data)
        )
        files.append((document.id, data))
    with pytest.raises(EmbeddingError, match="went away"):
        await ingest_documents(kb_store, ws, files, FailingEmbedder(minilm), batch_size=2)
    statuses = [(await kb_store.get_document(ws, doc_id)) for doc_id, _ in files]
    assert {d.status for d in statuses} <= {"ready", "failed"}
    failed = [d for d in statuses if d.status == "failed"]
    assert failed
    assert all("embedding failed" in (d.error or "") for d in failed)


class OverlapReranker:
    """A lexical reranker: scores passages by how many query words they contain."""

    async def score(self, query: str, passages: list[str]) -> list[float]:
        words = set(query.lower().split())
        return [float(len(words & set(p.lower().rstrip(".").split()))) for p in passages]


async def test_rerank_is_skipped_with_a_note_or_reorders_with_a_reranker(
    kb_engine: Any, minilm: SentenceTransformerEmbedder
) -> None:
    plain = KnowledgeStore(kb_engine)
    ws = uuid.uuid4()
    base = await _base(plain, ws)
    for name, text_ in [
        ("a.txt", "Oil gearbox change interval yearly."),
        ("b.txt", "Gearbox oil must be changed every year."),
    ]:
        await add_and_ingest(plain, ws, base.id, name, text_.encode(), minilm)
    request = SearchRequest(query="gearbox oil changed", top_k=2, rerank=True)
    skipped = await plain.search(ws, base.id, request, minilm)
    assert skipped.notes == ("rerank skipped: no cross-encoder model is installed",)
    reranked = await KnowledgeStore(kb_engine, OverlapReranker()).search(
        ws, base.id, request, minilm
    )
    assert reranked.notes == ()
    assert reranked.hits[0].text.startswith("Gearbox oil must be changed")
    assert reranked.hits[0].ranks["rerank"] == 1
    assert reranked.hits[0].score == 3.0
    assert [h.ranks["rerank"] for h in reranked.hits] == [1, 2]
