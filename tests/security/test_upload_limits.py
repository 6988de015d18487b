"""Finding 3: uploads exhausted memory and CPU, and deleting a document did not stop them.

The attack: one request with 6 x 45 MB text files took the server to 16.5 GB; one 5 MB text
file made 17,721 chunks and kept embedding after its document was deleted; a 307 KB PDF of
2,000 pages would extract ~240 M characters. Now multipart parts stream into spools (memory up
to 256 KB a file, a temporary file beyond), extracted characters and chunks are bounded per
document and per base (settings, refused with the figure), and a deleted or replaced document
stops its job at the next embedding batch. Limits here are small so the tests are fast.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from security_testkit import SERVED_ENV, Served
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from reporunner.knowledge import DocumentTooLarge, ParseLimits, content_hash_bytes
from reporunner.knowledge.embeddings import Embedder, embedder_for
from reporunner.knowledge.parsing import parse_document
from reporunner.knowledge.pipeline import ingest_documents
from reporunner.knowledge.store import KnowledgeStore
from reporunner.platform.knowledge.uploads import (
    SPOOL_IN_MEMORY,
    UploadLimits,
    files_from_multipart,
)

BOUNDARY = "securityBOUNDARY"
PARAGRAPHS = "\n\n".join(
    f"Paragraph {i}: the pump at station {i} runs at {1000 + i} rpm." for i in range(400)
).encode()


def _multipart(files: list[tuple[str, bytes]]) -> bytes:
    body = b""
    for name, data in files:
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{name}"\r\nContent-Type: text/plain\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return body + f"--{BOUNDARY}--\r\n".encode()


async def _stream(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_multipart_files_stream_to_spools_not_memory() -> None:
    six = [(f"f{i}.txt", bytes([65 + i]) * (2 * 1024 * 1024)) for i in range(6)]
    body = _multipart(six)
    limits = UploadLimits(max_bytes=3 * 1024 * 1024, max_files=6)
    tracemalloc.start()
    try:
        files = await files_from_multipart(_stream(body), BOUNDARY, limits)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        # the figure: 12 MB of files received with a peak of a few spools' worth of memory
        assert peak < 6 * SPOOL_IN_MEMORY + 1024 * 1024, peak
        assert [f.size for f in files] == [2 * 1024 * 1024] * 6
        assert files[3].data == six[3][1]  # each file is still read back whole when needed
    finally:
        for incoming in files:
            incoming.close()


def test_extracted_characters_are_bounded_for_text_and_pdf() -> None:
    with pytest.raises(DocumentTooLarge, match="REPORUNNER_MAX_DOCUMENT_CHARS") as caught:
        parse_document(PARAGRAPHS, ParseLimits(max_chars=1000))
    assert caught.value.extra["limit"] == 1000
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for page in range(300):  # a small PDF of many pages: it stops at the limit, mid-way
        pdf.drawString(50, 800, f"page {page} " + "words " * 40)
        pdf.showPage()
    pdf.save()
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(DocumentTooLarge, match="more than 5000 characters"):
        parse_document(buffer.getvalue(), ParseLimits(max_chars=5000))
    assert parse_document(buffer.getvalue()).kind == "pdf"  # fine under the default


@pytest.fixture
async def store(services: Any) -> AsyncIterator[KnowledgeStore]:
    engine = create_async_engine(services.database_url, pool_size=2)
    yield KnowledgeStore(engine)
    await engine.dispose()


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return embedder_for("all-MiniLM-L6-v2")


async def _base_with(store: KnowledgeStore, ws: uuid.UUID, *files: bytes) -> tuple[Any, list]:
    base = await store.create_base(
        ws,
        f"kb-{uuid.uuid4().hex[:6]}",
        embedding_model="all-MiniLM-L6-v2",
        embedding_dim=384,
        chunk_size=32,
        chunk_overlap=0,
    )
    registered = []
    for i, data in enumerate(files):
        document, _ = await store.add_document(
            ws, base.id, f"d{i}.txt", content_hash=content_hash_bytes(data), size_bytes=len(data)
        )
        registered.append((document.id, data))
    return base, registered


async def test_chunks_per_document_and_per_base_are_bounded(
    store: KnowledgeStore, minilm: Embedder
) -> None:
    ws = uuid.uuid4()
    small = b"The valve opens at 3 bar.\n\nIt closes at 1 bar."
    _base, files = await _base_with(store, ws, PARAGRAPHS, small)
    limits = ParseLimits(max_chunks=20, max_base_chunks=1000)
    big, ok = await ingest_documents(store, ws, files, minilm, limits=limits)
    assert big.status == "failed"
    assert "REPORUNNER_MAX_DOCUMENT_CHUNKS" in (big.error or "")
    assert "the limit is 20" in (big.error or "")
    assert ok.status == "ready"
    assert (await store.get_document(ws, files[0][0])).status == "failed"
    # per base: the base holds ok's chunks and may hold no more: the next document is refused
    more = b"Pumps need oil.\n\nFilters need changing.\n\nBelts need tension."
    base_id = (await store.get_document(ws, files[1][0])).knowledge_base_id
    document, _ = await store.add_document(
        ws, base_id, "more.txt", content_hash=content_hash_bytes(more), size_bytes=len(more)
    )
    [refused] = await ingest_documents(
        store,
        ws,
        [(document.id, more)],
        minilm,
        limits=ParseLimits(max_base_chunks=ok.chunks_total),
    )
    assert refused.status == "failed"
    assert "REPORUNNER_MAX_BASE_CHUNKS" in (refused.error or "")
    stored = await store.get_document(ws, document.id)
    assert stored.status == "failed"
    assert "REPORUNNER_MAX_BASE_CHUNKS" in (stored.error or "")


class DeletingEmbedder:
    """The real MiniLM; after its first batch the document is deleted (as a user would)."""

    def __init__(self, inner: Embedder, store: KnowledgeStore, ws: uuid.UUID, doc: Any) -> None:
        self.inner, self.store, self.ws, self.doc = inner, store, ws, doc
        self.batches = 0
        self.model_name, self.dim, self.max_tokens = inner.model_name, inner.dim, inner.max_tokens

    def token_counter(self) -> Any:
        return self.inner.token_counter()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches += 1
        vectors = await self.inner.embed(texts)
        if self.batches == 1:
            await self.store.delete_document(self.ws, self.doc)
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        return await self.inner.embed_query(text)


async def test_deleting_a_document_stops_its_job_at_the_next_batch(
    store: KnowledgeStore, minilm: Embedder
) -> None:
    ws = uuid.uuid4()
    _base, files = await _base_with(store, ws, PARAGRAPHS)
    embedder = DeletingEmbedder(minilm, store, ws, files[0][0])
    [result] = await ingest_documents(store, ws, files, embedder, batch_size=4)  # type: ignore[arg-type]
    # 400 paragraphs make ~100+ batches of 4; the job stopped after the one that saw the delete
    assert embedder.batches == 1
    assert result.status == "failed"
    assert "deleted or replaced" in (result.error or "")
    async with store.engine.connect() as conn:
        left = await conn.scalar(
            text("SELECT count(*) FROM chunks WHERE document_id = :d"), {"d": files[0][0]}
        )
    assert left == 0


# -- against a real `reporunner serve`


def _documents(served: Served, headers: dict[str, str], kb: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{served.base}/knowledge-bases/{kb}/documents", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def test_served_upload_limits_are_refused_with_the_figure(served: Served) -> None:
    editor = {"Authorization": f"Bearer {await served.key_for('editor')}"}
    made = httpx.post(
        f"{served.base}/knowledge-bases",
        json={"name": "limits", "chunk_size": 32, "chunk_overlap": 0},
        headers=editor,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    kb = made.json()["id"]
    url = f"{served.base}/knowledge-bases/{kb}/documents"
    multipart = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **editor}
    per_file = int(SERVED_ENV["REPORUNNER_MAX_UPLOAD_BYTES"])
    too_many = httpx.post(
        url, content=_multipart([(f"{i}.txt", b"x") for i in range(4)]), headers=multipart
    )
    assert too_many.status_code == 422, too_many.text
    assert "at most 3 files" in too_many.text
    too_big = httpx.post(
        url, content=_multipart([("big.txt", b"y" * (per_file + 1))]), headers=multipart
    )
    assert too_big.status_code == 413, too_big.text
    assert str(per_file) in too_big.text
    # 60 KB of text passes the byte limit but makes more chunks than one document may
    many_chunks = (PARAGRAPHS * 3)[:60_000]
    accepted = httpx.post(
        url, content=_multipart([("chunky.txt", many_chunks)]), headers=multipart, timeout=30
    )
    assert accepted.status_code in (200, 201, 202), accepted.text
    deadline = time.monotonic() + 90
    while True:
        [document] = _documents(served, editor, kb)
        if document["status"] in ("ready", "failed"):
            break
        assert time.monotonic() < deadline, document
        time.sleep(0.2)
    assert document["status"] == "failed", document
    assert "REPORUNNER_MAX_DOCUMENT" in document["error"], document
