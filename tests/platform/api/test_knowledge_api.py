"""``/knowledge-bases`` over HTTP on the real Postgres/Redis, ingested by a burst arq worker."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from member_testkit import add_member
from sqlalchemy import text

from reporunner.platform.api.app import create_app
from reporunner.platform.knowledge import kb_channel
from reporunner.platform.resources import open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker

KB = "/knowledge-bases"


def make_pdf(pages: list[str]) -> bytes:
    """A real text PDF, one page per string (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for page in pages:
        y = 800
        for line in page.split("\n"):
            pdf.drawString(50, y, line)
            y -= 14
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


CORRUPT_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nthis is not a pdf body\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


@pytest.fixture
def kb_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Test settings with a queue of our own (no other test's worker takes our jobs) and a
    data directory of our own (where originals are stored)."""
    return settings.model_copy(
        update={"queue_name": f"test:kb:{uuid.uuid4().hex}", "data_dir": tmp_path / "data"}
    )


ClientFactory = Callable[..., Awaitable[AsyncTestClient[Any]]]


@pytest.fixture
async def kb_client_factory(kb_settings: Settings) -> AsyncIterator[ClientFactory]:
    clients: list[AsyncTestClient[Any]] = []

    async def make(**updates: Any) -> AsyncTestClient[Any]:
        client = AsyncTestClient(create_app(kb_settings.model_copy(update=updates)))
        await client.__aenter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.__aexit__(None, None, None)


@pytest.fixture
async def kb_client(kb_client_factory: ClientFactory) -> AsyncTestClient[Any]:
    return await kb_client_factory()


@pytest.fixture
def run_worker(kb_settings: Settings) -> Callable[[], Awaitable[None]]:
    """Run a burst worker on our queue until it is empty."""

    async def run() -> None:
        resources = await open_resources(kb_settings)
        try:
            await build_worker(resources, burst=True, handle_signals=False).main()
        finally:
            await resources.close()

    return run


async def _blob_paths(settings: Settings, workspace_id: uuid.UUID) -> list[str]:
    """Paths of the originals the workspace has in the (PostgreSQL) store."""
    resources = await open_resources(settings)
    try:
        async with resources.engine.connect() as conn:
            rows = await conn.scalars(
                text("SELECT path FROM original_blobs WHERE workspace_id = :ws ORDER BY path"),
                {"ws": workspace_id},
            )
            return list(rows)
    finally:
        await resources.close()


async def _create_base(client: AsyncTestClient[Any], tenant: Any, name: str = "docs") -> str:
    response = await client.post(KB, json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["embedding_model"] == "all-MiniLM-L6-v2"
    assert body["embedding_dim"] == 384
    return str(body["id"])


async def _upload(
    client: AsyncTestClient[Any],
    tenant: Any,
    kb_id: str,
    files: list[tuple[str, bytes]],
    **fields: str,
) -> Any:
    return await client.post(
        f"{KB}/{kb_id}/documents",
        files=[("files", (name, data)) for name, data in files],
        data=fields or None,
        headers=tenant.headers,
    )


async def _wait_final(
    client: AsyncTestClient[Any], tenant: Any, kb_id: str, doc_id: str
) -> dict[str, Any]:
    # the pause grows to half a second, so a slow ingestion never polls near the per-key limit
    deadline, pause = time.monotonic() + 60, 0.02
    while True:
        response = await client.get(f"{KB}/{kb_id}/documents/{doc_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("ready", "failed"):
            return body
        assert time.monotonic() < deadline, f"document stuck in {body['status']}"
        await asyncio.sleep(pause)
        pause = min(0.5, pause * 1.5)


async def _ingested(
    client: AsyncTestClient[Any],
    tenant: Any,
    kb_id: str,
    files: list[tuple[str, bytes]],
    run_worker: Callable[[], Awaitable[None]],
    **fields: str,
) -> list[dict[str, Any]]:
    response = await _upload(client, tenant, kb_id, files, **fields)
    assert response.status_code == 202, response.text
    await run_worker()
    ids = [d["id"] for d in response.json()["documents"]]
    return [await _wait_final(client, tenant, kb_id, doc_id) for doc_id in ids]


MANUAL = make_pdf(
    [
        "Pump manual\nInstallation of the pump on a flat floor.",
        "Maintenance\nReplace the impeller seal every 2000 operating hours.",
    ]
)
NOTES = b"# Release notes\n\n## Version 2\n\nThe dashboard now shows turbine vibration alerts.\n"
PRICES = b"product,price,region\nimpeller seal,40,eu\nturbine blade,900,us\n"


async def test_upload_several_files_one_corrupt_pdf_fails_others_ready(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any, kb_settings: Settings
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    resources = await open_resources(kb_settings)
    pubsub = resources.redis.pubsub()
    await pubsub.subscribe(kb_channel(kb_id))
    try:
        response = await _upload(
            kb_client,
            tenant,
            kb_id,
            [
                ("manual.pdf", MANUAL),
                ("broken.pdf", CORRUPT_PDF),
                ("notes.md", NOTES),
                ("prices.csv", PRICES),
            ],
        )
        assert response.status_code == 202, response.text
        accepted = response.json()["documents"]
        assert [d["name"] for d in accepted] == [
            "manual.pdf",
            "broken.pdf",
            "notes.md",
            "prices.csv",
        ]
        assert {d["status"] for d in accepted} == {"queued"}
        await run_worker()
        final = {d["name"]: await _wait_final(kb_client, tenant, kb_id, d["id"]) for d in accepted}
        events: list[dict[str, Any]] = []
        finished: set[str] = set()
        deadline = time.monotonic() + 30
        while len(finished) < len(accepted) and time.monotonic() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                event = json.loads(message["data"])
                events.append(event)
                if event["status"] in ("ready", "failed"):
                    finished.add(event["document_id"])
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()
        await resources.close()

    assert final["broken.pdf"]["status"] == "failed"
    assert final["broken.pdf"]["error"]
    for name in ("manual.pdf", "notes.md", "prices.csv"):
        assert final[name]["status"] == "ready", final[name]
        assert final[name]["chunks_total"] >= 1
        assert final[name]["chunks_done"] == final[name]["chunks_total"]
    assert final["manual.pdf"]["mime_type"] == "application/pdf"
    assert final["prices.csv"]["mime_type"] == "text/csv"

    manual_id = final["manual.pdf"]["id"]
    statuses = [e["status"] for e in events if e["document_id"] == manual_id]
    assert statuses[0] == "queued"
    assert "parsing" in statuses
    assert "embedding" in statuses
    assert statuses[-1] == "ready"
    broken = [e for e in events if e["document_id"] == final["broken.pdf"]["id"]]
    assert broken[-1]["status"] == "failed"
    assert broken[-1]["error"] == final["broken.pdf"]["error"]

    listed = await kb_client.get(f"{KB}/{kb_id}/documents", headers=tenant.headers)
    assert sorted(d["name"] for d in listed.json()) == sorted(final)


async def test_search_returns_citations_with_page_and_offsets(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    docs = await _ingested(
        kb_client, tenant, kb_id, [("manual.pdf", MANUAL), ("notes.md", NOTES)], run_worker
    )
    assert {d["status"] for d in docs} == {"ready"}
    viewer_key = tenant.headers  # the editor searches too; viewers are tested below
    for mode in ("hybrid", "vector", "keyword"):
        response = await kb_client.post(
            f"{KB}/{kb_id}/search",
            json={"query": "how often to replace the impeller seal", "top_k": 3, "mode": mode},
            headers=viewer_key,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["mode"] == mode
        top = body["hits"][0]
        assert top["document_name"] == "manual.pdf", (mode, body)
        assert top["page"] == 2
        assert "impeller seal" in top["text"]
        assert top["char_end"] > top["char_start"] >= 0
        assert mode in top["ranks"] or mode == "hybrid"
    hybrid = (
        await kb_client.post(
            f"{KB}/{kb_id}/search",
            json={"query": "turbine vibration alerts", "rerank": True},
            headers=tenant.headers,
        )
    ).json()
    assert hybrid["hits"][0]["document_name"] == "notes.md"
    assert hybrid["hits"][0]["heading_path"][-1] == "Version 2"
    assert hybrid["notes"], "rerank without a cross-encoder says it was skipped"


async def test_filtered_search_still_returns_top_k(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    files = [
        (f"note-{i}.txt", f"Note {i}: the turbine inspection number {i} found wear.".encode())
        for i in range(8)
    ]
    await _ingested(kb_client, tenant, kb_id, files[:5], run_worker, metadata='{"team": "red"}')
    await _ingested(kb_client, tenant, kb_id, files[5:], run_worker, metadata='{"team": "blue"}')
    for mode in ("hybrid", "vector", "keyword"):
        response = await kb_client.post(
            f"{KB}/{kb_id}/search",
            json={"query": "turbine inspection", "top_k": 3, "mode": mode,
                  "filters": {"team": "blue"}},
            headers=tenant.headers,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        hits = response.json()["hits"]
        assert len(hits) == 3, (mode, hits)
        assert {h["metadata"]["team"] for h in hits} == {"blue"}
    bad = await kb_client.post(
        f"{KB}/{kb_id}/search",
        json={"query": "x", "filters": {"team": {"like": "b%"}}},
        headers=tenant.headers,
    )
    assert bad.status_code == 422
    assert "like" in bad.json()["detail"]


async def test_reupload_of_the_same_file_is_a_noop(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    [first] = await _ingested(kb_client, tenant, kb_id, [("notes.md", NOTES)], run_worker)
    again = await _upload(kb_client, tenant, kb_id, [("notes.md", NOTES)])
    assert again.status_code == 202
    [document] = again.json()["documents"]
    assert document == {"id": first["id"], "name": "notes.md", "status": "ready", "unchanged": True}
    after = await _wait_final(kb_client, tenant, kb_id, first["id"])
    assert after["updated_at"] == first["updated_at"]

    edited = await _upload(kb_client, tenant, kb_id, [("notes.md", NOTES + b"\nMore text.\n")])
    assert edited.json()["documents"][0]["unchanged"] is False
    assert edited.json()["documents"][0]["status"] == "queued"


async def test_unsupported_type_is_415_naming_the_supported_ones(
    kb_client: AsyncTestClient[Any], tenant_factory: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    # the name and the part's content type claim a PDF; the bytes are a PNG
    response = await kb_client.post(
        f"{KB}/{kb_id}/documents",
        files=[
            ("files", ("ok.txt", b"plain text")),
            ("files", ("scan.pdf", PNG, "application/pdf")),
        ],
        headers=tenant.headers,
    )
    assert response.status_code == 415, response.text
    body = response.json()
    assert "scan.pdf" in body["detail"]
    assert "application/pdf" in body["supported"]
    assert ".docx" in body["detail"]
    listed = await kb_client.get(f"{KB}/{kb_id}/documents", headers=tenant.headers)
    assert listed.json() == [], "nothing of a refused upload is stored"


async def test_oversized_file_is_413_with_the_limit(
    kb_client_factory: ClientFactory, tenant_factory: Any
) -> None:
    client = await kb_client_factory(max_upload_bytes=1000)
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(client, tenant)
    response = await _upload(client, tenant, kb_id, [("big.txt", b"word " * 1000)])
    assert response.status_code == 413, response.text
    assert response.json()["limit"] == 1000
    assert "1000 bytes" in response.json()["detail"]
    small = await _upload(client, tenant, kb_id, [("small.txt", b"word " * 10)])
    assert small.status_code == 202


async def test_too_many_files_and_empty_uploads_are_refused(
    kb_client_factory: ClientFactory, tenant_factory: Any
) -> None:
    client = await kb_client_factory(max_upload_files=2)
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(client, tenant)
    three = [(f"{i}.txt", b"some text") for i in range(3)]
    response = await _upload(client, tenant, kb_id, three)
    assert response.status_code == 422
    assert "at most 2 files" in response.json()["detail"]
    empty = await _upload(client, tenant, kb_id, [("empty.txt", b"")])
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"]


async def test_file_names_are_made_safe(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, kb_settings: Settings
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    long_name = "x" * 400 + ".txt"
    response = await _upload(
        kb_client,
        tenant,
        kb_id,
        [("../../etc/passwd", b"root line"), (long_name, b"long name"), ("..", b"dots")],
    )
    assert response.status_code == 202, response.text
    names = [d["name"] for d in response.json()["documents"]]
    assert names[0] == "passwd"
    assert len(names[1]) == 300
    assert "/" not in names[1]
    assert names[2] == "document"
    stored = await _blob_paths(kb_settings, tenant.workspace_id)
    assert len(stored) == 3
    assert all(
        p.startswith(f"{tenant.workspace_id}/") and ".." not in p and len(p.rsplit("/")[-1]) <= 120
        for p in stored
    )
    assert not (kb_settings.data_dir / "knowledge").exists()  # nothing on the API's disk
    doc_id = response.json()["documents"][0]["id"]
    original = await kb_client.get(
        f"{KB}/{kb_id}/documents/{doc_id}/original", headers=tenant.headers
    )
    assert original.status_code == 200
    assert original.content == b"root line"


async def test_text_json_upload_and_url_ssrf_refusal(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    response = await kb_client.post(
        f"{KB}/{kb_id}/documents",
        json={"text": "The warranty lasts five years.", "metadata": {"kind": "policy"}},
        headers=tenant.headers,
    )
    assert response.status_code == 202, response.text
    [doc] = response.json()["documents"]
    assert doc["name"].startswith("text-")
    assert doc["name"].endswith(".txt")
    await run_worker()
    final = await _wait_final(kb_client, tenant, kb_id, doc["id"])
    assert final["status"] == "ready"
    assert final["source"] == "text"
    assert final["metadata"] == {"kind": "policy"}

    blocked = await kb_client.post(
        f"{KB}/{kb_id}/documents",
        json={"url": "http://127.0.0.1:9/secret.txt"},
        headers=tenant.headers,
    )
    assert blocked.status_code == 422
    assert blocked.json()["code"] == "ssrf_blocked"
    both = await kb_client.post(
        f"{KB}/{kb_id}/documents", json={"text": "a", "url": "https://x.test"},
        headers=tenant.headers,
    )  # fmt: skip
    assert both.status_code == 422


async def test_html_and_svg_originals_are_attachments_never_sniffed(
    kb_client: AsyncTestClient[Any], tenant_factory: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    page = b"<html><body><article><p>Hello</p><script>alert(1)</script></article></body></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><text>Hi</text></svg>'
    files = [("page.txt", page), ("m.pdf", MANUAL), ("logo.svg", svg)]
    response = await _upload(kb_client, tenant, kb_id, files)
    html_id, pdf_id, svg_id = (d["id"] for d in response.json()["documents"])
    image = await kb_client.get(f"{KB}/{kb_id}/documents/{svg_id}/original", headers=tenant.headers)
    assert image.headers["content-type"].startswith("text/plain")  # stored as what it parses as
    assert image.headers["content-disposition"].startswith('attachment; filename="logo.svg"')
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.content == svg
    html = await kb_client.get(f"{KB}/{kb_id}/documents/{html_id}/original", headers=tenant.headers)
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"].startswith("attachment;")
    assert html.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in html.headers["content-security-policy"]
    pdf = await kb_client.get(f"{KB}/{kb_id}/documents/{pdf_id}/original", headers=tenant.headers)
    assert pdf.headers["content-type"] == "application/pdf"
    assert (
        pdf.headers["content-disposition"]
        == "attachment; filename=\"m.pdf\"; filename*=UTF-8''m.pdf"
    )
    assert pdf.headers["x-content-type-options"] == "nosniff"
    assert pdf.content == MANUAL


async def test_delete_document_removes_its_chunks(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any, kb_settings: Settings
) -> None:
    tenant = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, tenant)
    [doc] = await _ingested(kb_client, tenant, kb_id, [("manual.pdf", MANUAL)], run_worker)
    resources = await open_resources(kb_settings)
    try:
        count = text("SELECT count(*) FROM chunks WHERE document_id = :d")
        async with resources.engine.connect() as conn:
            assert await conn.scalar(count, {"d": doc["id"]}) == doc["chunks_total"] > 0
        url = f"{KB}/{kb_id}/documents/{doc['id']}"
        assert (await kb_client.delete(url, headers=tenant.headers)).status_code == 204
        async with resources.engine.connect() as conn:
            assert await conn.scalar(count, {"d": doc["id"]}) == 0
    finally:
        await resources.close()
    assert (await kb_client.get(url, headers=tenant.headers)).status_code == 404
    assert await _blob_paths(kb_settings, tenant.workspace_id) == []


async def test_base_crud_and_viewer_is_refused_writes(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, kb_settings: Settings
) -> None:
    editor = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, editor, "handbook")
    dup = await kb_client.post(KB, json={"name": "handbook"}, headers=editor.headers)
    assert dup.status_code == 409
    renamed = await kb_client.patch(
        f"{KB}/{kb_id}", json={"name": "manuals", "description": "All manuals"},
        headers=editor.headers,
    )  # fmt: skip
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "manuals"
    litellm = await kb_client.post(
        KB, json={"name": "remote", "embedding_model": "openai/text-embedding-3-small"},
        headers=editor.headers,
    )  # fmt: skip
    assert litellm.status_code == 422
    assert "dimension" in litellm.json()["detail"]

    viewer = await add_member(kb_settings, editor.workspace_id, "viewer")
    viewer_kb = await kb_client.post(KB, json={"name": "v"}, headers=viewer)
    assert viewer_kb.status_code == 403
    assert "'editor' role" in viewer_kb.json()["detail"]
    for method, url in (
        ("POST", f"{KB}/{kb_id}/documents"),
        ("DELETE", f"{KB}/{kb_id}"),
        ("PATCH", f"{KB}/{kb_id}"),
        ("DELETE", f"{KB}/{kb_id}/documents/{uuid.uuid4()}"),
        ("POST", f"{KB}/{kb_id}/reembed"),
    ):
        response = await kb_client.request(method, url, json={}, headers=viewer)
        assert response.status_code == 403, (method, url, response.text)
    search = await kb_client.post(f"{KB}/{kb_id}/search", json={"query": "x"}, headers=viewer)
    assert search.status_code == 200
    assert search.json()["hits"] == []
    listed = await kb_client.get(KB, headers=viewer)
    assert [b["name"] for b in listed.json()] == ["manuals"]
    assert (await kb_client.delete(f"{KB}/{kb_id}", headers=editor.headers)).status_code == 204
    assert (await kb_client.get(f"{KB}/{kb_id}", headers=editor.headers)).status_code == 404


async def test_a_citation_opens_at_its_place(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any
) -> None:
    """A PDF opens inline (the browser's viewer, ``#page=N``) and only a PDF does; every
    document's chunks read back in order with their page and headings, bounded pages."""
    tenant = editor = await tenant_factory(role="editor")
    kb_id = await _create_base(kb_client, editor)
    page = b"<html><body><h1>Hi</h1><p>Hello there</p><script>alert(1)</script></body></html>"
    docs = await _ingested(
        kb_client,
        editor,
        kb_id,
        [("manual.pdf", MANUAL), ("notes.md", NOTES), ("page.pdf", page)],
        run_worker,
    )
    by_name = {d["name"]: d for d in docs}
    assert {d["status"] for d in docs} == {"ready"}, docs
    assert by_name["page.pdf"]["mime_type"] == "text/html"  # typed by its bytes, not its name
    manual = f"{KB}/{kb_id}/documents/{by_name['manual.pdf']['id']}"

    inline = await kb_client.get(f"{manual}/original?inline=true", headers=tenant.headers)
    assert inline.status_code == 200, inline.text
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith('inline; filename="manual.pdf"')
    assert inline.headers["x-content-type-options"] == "nosniff"
    assert inline.headers["content-security-policy"].startswith("sandbox")
    assert inline.content == MANUAL
    # an HTML file (even one named .pdf) or a markdown file never opens inline
    for name in ("page.pdf", "notes.md"):
        url = f"{KB}/{kb_id}/documents/{by_name[name]['id']}/original?inline=true"
        refused = await kb_client.get(url, headers=tenant.headers)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["problems"][0]["pointer"] == "inline"
        assert "<html" not in refused.text
    bad = await kb_client.get(f"{manual}/original?inline=maybe", headers=tenant.headers)
    assert bad.status_code == 400
    assert "inline" in bad.text

    chunks = await kb_client.get(f"{manual}/chunks", headers=tenant.headers)
    assert chunks.status_code == 200, chunks.text
    body = chunks.json()
    assert body["document"]["name"] == "manual.pdf"
    assert body["total"] == len(body["chunks"]) >= 2
    assert body["next_offset"] is None
    assert [c["ordinal"] for c in body["chunks"]] == sorted(c["ordinal"] for c in body["chunks"])
    seal = next(c for c in body["chunks"] if "impeller seal" in c["text"])
    assert seal["page"] == 2
    # the chunk a search cites is the one the document view marks
    hit = (
        await kb_client.post(
            f"{KB}/{kb_id}/search",
            json={"query": "replace the impeller seal", "top_k": 1},
            headers=tenant.headers,
        )
    ).json()["hits"][0]
    assert hit["chunk_id"] == seal["id"]
    first = await kb_client.get(f"{manual}/chunks?limit=1", headers=tenant.headers)
    assert first.json()["next_offset"] == 1
    assert len(first.json()["chunks"]) == 1
    notes_id = by_name["notes.md"]["id"]
    notes = (
        await kb_client.get(f"{KB}/{kb_id}/documents/{notes_id}/chunks", headers=tenant.headers)
    ).json()
    assert any(c["heading_path"][-1:] == ["Version 2"] for c in notes["chunks"]), notes
    html_chunks = (
        await kb_client.get(f"{KB}/{kb_id}/documents/{by_name['page.pdf']['id']}/chunks",
                            headers=tenant.headers)
    ).json()  # fmt: skip
    assert "alert(1)" not in json.dumps(html_chunks["chunks"])  # scripts are not text
    for query, field in (("limit=0", "limit"), ("limit=501", "limit"), ("offset=-1", "offset"),
                         ("limit=x", "limit")):  # fmt: skip
        refused = await kb_client.get(f"{manual}/chunks?{query}", headers=tenant.headers)
        assert refused.status_code in (400, 422), (query, refused.text)
        assert field in refused.text


async def test_another_workspace_gets_404_and_never_a_chunk(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any
) -> None:
    alice = await tenant_factory(role="editor")
    bob = await tenant_factory(role="owner")
    alice_kb = await _create_base(kb_client, alice, "shared-name")
    [alice_doc] = await _ingested(kb_client, alice, alice_kb, [("manual.pdf", MANUAL)], run_worker)
    bob_kb = await _create_base(kb_client, bob, "shared-name")
    await _ingested(kb_client, bob, bob_kb, [("notes.md", NOTES)], run_worker)

    doc_url = f"{KB}/{alice_kb}/documents/{alice_doc['id']}"
    for method, url, body in (
        ("GET", f"{KB}/{alice_kb}", None),
        ("PATCH", f"{KB}/{alice_kb}", {"name": "mine"}),
        ("DELETE", f"{KB}/{alice_kb}", None),
        ("GET", f"{KB}/{alice_kb}/documents", None),
        ("GET", doc_url, None),
        ("GET", f"{doc_url}/original", None),
        ("GET", f"{doc_url}/original?inline=true", None),
        ("GET", f"{doc_url}/chunks", None),
        ("DELETE", doc_url, None),
        ("POST", f"{KB}/{alice_kb}/search", {"query": "impeller seal"}),
        ("POST", f"{KB}/{alice_kb}/documents", {"text": "intrusion"}),
        # Alice's document id under Bob's own base is not found either
        ("GET", f"{KB}/{bob_kb}/documents/{alice_doc['id']}", None),
    ):
        response = await kb_client.request(method, url, json=body, headers=bob.headers)
        assert response.status_code == 404, (method, url, response.text)

    for filters in (
        {},
        {"document_id": alice_doc["id"]},
        {"document_name": "manual.pdf"},
        {"workspace_id": str(alice.workspace_id)},
        {"knowledge_base_id": alice_kb},
    ):
        for mode in ("hybrid", "vector", "keyword"):
            response = await kb_client.post(
                f"{KB}/{bob_kb}/search",
                json={"query": "impeller seal maintenance", "mode": mode, "top_k": 100,
                      "filters": filters},
                headers=bob.headers,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            hits = response.json()["hits"]
            assert all(h["document_name"] == "notes.md" for h in hits), (filters, mode, hits)
            assert alice_doc["id"] not in {h["document_id"] for h in hits}
    still = await kb_client.get(doc_url, headers=alice.headers)
    assert still.status_code == 200


def _sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append((fields.get("event", ""), json.loads(fields["data"])))
    return events


async def test_events_stream_reports_each_document_state(
    kb_client: AsyncTestClient[Any], tenant_factory: Any, run_worker: Any, kb_settings: Settings
) -> None:
    tenant = await tenant_factory(role="viewer")
    editor = SimpleNamespace(headers=await add_member(kb_settings, tenant.workspace_id, "editor"))
    kb_id = await _create_base(kb_client, editor)
    url = f"{KB}/{kb_id}/events?until_settled=true"
    empty = await kb_client.get(url, headers=tenant.headers)
    assert empty.status_code == 200
    assert _sse_events(empty.text) == []

    response = await _upload(
        kb_client, editor, kb_id, [("notes.md", NOTES), ("broken.pdf", CORRUPT_PDF)]
    )
    ids = {d["name"]: d["id"] for d in response.json()["documents"]}
    # Litestar's test client blocks the event loop for a whole request, so the worker runs
    # first here; following live events is tested on follow_base itself.
    await run_worker()
    stream = await kb_client.get(url, headers=tenant.headers)
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(stream.text)
    last = {data["document_id"]: data for _, data in events}
    assert last[ids["notes.md"]]["status"] == "ready"
    assert last[ids["broken.pdf"]]["status"] == "failed"
    assert last[ids["broken.pdf"]]["error"]
    assert {kind for kind, _ in events} == {"document.state"}
    other = await tenant_factory(role="owner")
    assert (await kb_client.get(url, headers=other.headers)).status_code == 404
