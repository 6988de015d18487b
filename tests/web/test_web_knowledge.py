"""The Knowledge pages in Chromium against a real `reporunner serve`: five files of five types
dropped at once, each bar followed to "ready" from the base's events, then a search with the
query terms highlighted, its citation opened, a re-embed and a delete; a failed document shows
its reason and its retry ends ready; a viewer cannot upload; markup in a file name or a chunk
stays text.

The first ingestion of a worker process loads the local embedding model (tens of seconds on a
busy machine), so every wait is on a state, with a generous deadline.
"""

from __future__ import annotations

import base64
import io
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from web_testkit import (
    OWNER_EMAIL,
    OWNER_PASSWORD,
    WEB,
    Server,
    clone_database,
    ensure_owner,
    free_port,
    shot,
    sign_in,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.timeout(900)

DATA = Path(__file__).resolve().parents[1] / "data" / "knowledge"
INGESTED = 300_000  # ms: the first ingestion of a worker loads the embedding model
PWNED = "() => [window.__pwned, document.querySelectorAll('.content img, .content script').length]"


def make_pdf(pages: list[str]) -> bytes:
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


def make_docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Turbine handbook", level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


FIVE = [
    ("notes.txt", b"Shift notes: the cooling fan of line 3 was cleaned on Monday.\n", "text/plain"),
    ("runbook.md", (DATA / "runbook.md").read_bytes(), "text/markdown"),
    ("blog_post.html", (DATA / "blog_post.html").read_bytes(), "text/html"),
    (
        "manual.pdf",
        make_pdf(
            [
                "Pump manual\nInstallation of the pump on a flat floor.",
                "Maintenance\nReplace the impeller seal every 2000 operating hours.",
            ]
        ),
        "application/pdf",
    ),
    (
        "handbook.docx",
        make_docx(["Turbine blades are inspected for cracks every spring."]),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
]


def drop(page: Page, files: list[tuple[str, bytes, str]]) -> None:
    """Drop ``files`` on the upload zone, as a user dragging them from their desktop."""
    payload = [
        {"name": name, "b64": base64.b64encode(data).decode(), "type": kind}
        for name, data, kind in files
    ]
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bin = atob(f.b64);
                const bytes = new Uint8Array(bin.length);
                for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
                dt.items.add(new File([bytes], f.name, {type: f.type}));
            }
            return dt;
        }""",
        payload,
    )
    zone = page.get_by_test_id("dropzone")
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    zone.dispatch_event("drop", {"dataTransfer": transfer})


def upload_row(page: Page, name: str) -> Locator:
    return page.get_by_role("list", name="Uploads").get_by_label(f"Upload of {name}", exact=True)


def document_row(page: Page, name: str) -> Locator:
    return page.get_by_role("row", name=f"Document {name}", exact=True)


def create_base(server: Server, name: str, **fields: Any) -> str:
    status, body = server.api("POST", "/knowledge-bases", {"name": name, **fields})
    assert status == 201, body
    return str(body["id"])


def test_upload_five_types_search_reembed_and_delete(owner_page: Page, server: Server) -> None:
    page = owner_page
    page.goto("/knowledge")
    expect(page.get_by_role("heading", name="Knowledge")).to_be_visible()
    page.get_by_role("button", name="New knowledge base").click()
    form = page.get_by_role("form", name="New knowledge base")
    name = f"Plant docs {uuid.uuid4().hex[:6]}"
    form.get_by_label("Name").fill(name)
    form.get_by_label("Description").fill("Manuals and notes of the plant")
    form.get_by_role("button", name="Create knowledge base").click()
    page.wait_for_url(re.compile(r"/knowledge/[0-9a-f-]{36}$"))
    base_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator(".page-head")).to_contain_text("all-MiniLM-L6-v2")

    drop(page, FIVE)
    for file_name, _, _ in FIVE:
        expect(upload_row(page, file_name)).to_be_visible()
    shot(page, "knowledge-uploading")
    for file_name, _, _ in FIVE:
        row = upload_row(page, file_name)
        expect(row).to_have_attribute("data-status", "ready", timeout=INGESTED)
        expect(row.get_by_role("status")).to_contain_text("ready")
        expect(row.get_by_role("progressbar")).to_have_attribute("value", "1")
        expect(document_row(page, file_name)).to_have_attribute("data-status", "ready")
    status, docs = server.api("GET", f"/knowledge-bases/{base_id}/documents")
    assert status == 200
    assert sorted((d["name"], d["status"]) for d in docs) == sorted(
        (file_name, "ready") for file_name, _, _ in FIVE
    )
    assert {d["mime_type"] for d in docs} >= {"application/pdf", "text/html", "text/markdown"}

    playground = page.get_by_role("region", name="Search playground")
    playground.get_by_label("Query").fill("impeller seal")
    playground.get_by_label("Top k").fill("3")
    playground.get_by_role("button", name="Search", exact=True).click()
    first = playground.get_by_role("listitem", name="Result 1")
    # the API process embeds the query: its first search loads the model
    expect(first).to_contain_text("manual.pdf", timeout=INGESTED)
    expect(first).to_contain_text("page 2")
    expect(first.locator("mark").first).to_have_text(re.compile("^(impeller|seal)$", re.I))
    marks = first.locator("mark").all_inner_texts()
    assert {m.lower() for m in marks} == {"impeller", "seal"}, marks
    shot(page, "knowledge-search")

    # the citation opens the original document
    with page.expect_download() as download:
        first.get_by_role("link", name="Open manual.pdf").click()
    assert download.value.suggested_filename == "manual.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

    # metadata filters and the mode go to the server; a bad filter is answered by name
    playground.get_by_label("Query").fill("cleaned")
    playground.get_by_label("Mode").select_option("keyword")
    playground.get_by_label("Metadata filters (JSON)").fill('{"mime_type": "text/plain"}')
    playground.get_by_role("button", name="Search", exact=True).click()
    expect(playground.get_by_role("listitem", name="Result 1")).to_contain_text("notes.txt")
    expect(playground.get_by_role("listitem")).to_have_count(1)
    playground.get_by_label("Metadata filters (JSON)").fill('{"page": {"like": "1%"}}')
    playground.get_by_role("button", name="Search", exact=True).click()
    expect(playground.get_by_role("alert")).to_contain_text("like")
    playground.get_by_label("Metadata filters (JSON)").fill("[1, 2")
    playground.get_by_role("button", name="Search", exact=True).click()
    expect(playground.get_by_role("alert")).to_contain_text("filters: not JSON")

    # re-embed: every document goes through the pipeline again, and the page follows it
    reembed = page.get_by_role("region", name="Re-embed")
    reembed.get_by_role("button", name="Re-embed every document").click()
    expect(reembed.get_by_role("status", name="Re-embedding progress")).to_be_visible()
    shot(page, "knowledge-reembed")
    expect(reembed.get_by_role("status", name="Re-embedding progress")).to_have_count(
        0, timeout=INGESTED
    )
    expect(reembed.get_by_role("button", name="Re-embed every document")).to_be_visible()
    for file_name, _, _ in FIVE:
        expect(document_row(page, file_name)).to_have_attribute("data-status", "ready")
    status, after = server.api("GET", f"/knowledge-bases/{base_id}")
    assert status == 200
    assert after["reembedding"] is False

    # delete one document
    row = document_row(page, "notes.txt")
    row.get_by_role("button", name="Delete notes.txt").click()
    row.get_by_role("button", name="Confirm delete notes.txt").click()
    expect(document_row(page, "notes.txt")).to_have_count(0)
    status, docs = server.api("GET", f"/knowledge-bases/{base_id}/documents")
    assert sorted(d["name"] for d in docs) == sorted(n for n, _, _ in FIVE if n != "notes.txt")

    page.goto("/knowledge")
    listed = (
        page.get_by_role("table", name="Knowledge bases").get_by_role("row").filter(has_text=name)
    )
    expect(listed).to_contain_text("all-MiniLM-L6-v2")
    expect(listed).to_contain_text("384 dimensions")
    shot(page, "knowledge-list")


def test_viewer_cannot_upload(page: Page, server: Server) -> None:
    ensure_owner(server)
    base_id = create_base(server, f"Viewer base {uuid.uuid4().hex[:6]}")
    status, invite = server.api(
        "POST", "/workspace/invitations", {"email": "kb-viewer@example.com", "role": "viewer"}
    )
    assert status == 201, invite
    url = urlsplit(invite["url"])
    page.goto(f"{url.path}?{url.query}")
    page.get_by_label("Name").fill("Kim Viewer")
    page.get_by_label("Password", exact=True).fill("viewer password 2")
    page.get_by_label("Repeat password").fill("viewer password 2")
    page.get_by_role("button", name="Join workspace").click()
    expect(page.get_by_label("Signed in as")).to_contain_text("viewer")

    page.goto(f"/knowledge/{base_id}")
    expect(page.get_by_role("button", name="Choose files")).to_be_disabled()
    expect(page.get_by_test_id("dropzone")).to_contain_text("Viewers cannot upload")
    expect(page.get_by_role("button", name="Re-embed every document")).to_have_count(0)
    drop(page, FIVE[:1])
    expect(page.get_by_role("list", name="Uploads")).to_have_count(0)
    page.goto("/knowledge")
    expect(page.get_by_role("button", name="New knowledge base")).to_have_count(0)
    shot(page, "knowledge-viewer")

    # the session itself is refused by the API, CSRF token and all
    status = page.evaluate(
        """async (base) => {
            const me = await (await fetch('/auth/me')).json();
            const form = new FormData();
            form.append('files', new File(['hello'], 'x.txt', {type: 'text/plain'}));
            const res = await fetch(`/knowledge-bases/${base}/documents`, {
                method: 'POST', headers: {'X-CSRF-Token': me.csrf_token}, body: form,
            });
            return res.status;
        }""",
        base_id,
    )
    assert status == 403


def test_markup_in_file_names_and_chunks_stays_text(owner_page: Page, server: Server) -> None:
    page = owner_page
    base_id = create_base(server, f"Hostile {uuid.uuid4().hex[:6]}")
    page.goto(f"/knowledge/{base_id}")
    name = '<img src=x onerror="window.__pwned=1">.txt'
    body = (
        b'Turbine notes. <img src=x onerror="window.__pwned=2"> and '
        b"<script>window.__pwned=3</script> end of turbine notes."
    )
    drop(page, [(name, body, "text/plain")])
    expect(upload_row(page, name)).to_have_attribute("data-status", "ready", timeout=INGESTED)
    expect(document_row(page, name).get_by_role("link", name=f"Original of {name}")).to_have_text(
        name
    )
    playground = page.get_by_role("region", name="Search playground")
    playground.get_by_label("Query").fill("turbine <img src=x onerror=window.__pwned=4>")
    playground.get_by_role("button", name="Search", exact=True).click()
    first = playground.get_by_role("listitem", name="Result 1")
    expect(first).to_contain_text("<script>window.__pwned=3</script>", timeout=INGESTED)
    expect(first).to_contain_text(name)
    expect(first.locator("mark").first).to_have_text(re.compile("turbine", re.I))
    # a file of no supported type is refused at once, and the bar says why
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    drop(page, [("picture.txt", png, "text/plain")])
    refused = upload_row(page, "picture.txt")
    expect(refused).to_have_attribute("data-status", "failed")
    expect(refused.get_by_role("status")).to_contain_text("not a supported document type")
    expect(document_row(page, "picture.txt")).to_have_count(0)
    shot(page, "knowledge-hostile")
    assert page.evaluate(PWNED) == [None, 0]


@pytest.fixture(scope="module")
def small_server(
    services: Any, web_build: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A second server whose bases hold at most 8 chunks (REPORUNNER_MAX_BASE_CHUNKS): the
    failure that a retry cures once another document is deleted."""
    database_url, db_name = clone_database(services)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": re.sub(r"/\d+$", "/10", services.redis_url),
        "REPORUNNER_DATA_DIR": str(tmp_path_factory.mktemp("rr-web-small")),
        "REPORUNNER_QUEUE_NAME": f"reporunner:web-small:{uuid.uuid4().hex[:8]}",
        "REPORUNNER_LOG_LEVEL": "WARNING",
        "REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "0",
        "REPORUNNER_MAX_BASE_CHUNKS": "8",
        "REPORUNNER_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    proc, srv = start_server(env, port)
    try:
        assert srv.setup_url, "".join(srv.output)
        token = srv.setup_url.split("token=", 1)[1]
        status, body = srv.api(
            "POST",
            "/auth/setup",
            {"token": token, "email": OWNER_EMAIL, "password": OWNER_PASSWORD},
        )
        assert status == 200, body
        yield srv
    finally:
        stop_server(proc)
        with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def sentences(subject: str, count: int) -> bytes:
    return " ".join(
        f"{subject} {i} is serviced every {i + 2} months by the maintenance crew."
        for i in range(count)
    ).encode()


def test_failed_document_shows_its_reason_and_retry_works(
    browser: Browser, small_server: Server
) -> None:
    server = small_server
    base_id = create_base(server, "Small base", chunk_size=32, chunk_overlap=0)
    context = browser.new_context(base_url=server.base, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page)
        page.goto(f"/knowledge/{base_id}")
        # 6 chunks of 32 tokens, then 4 more: past the limit of 8
        drop(page, [("pumps.txt", sentences("Pump", 12), "text/plain")])
        expect(upload_row(page, "pumps.txt")).to_have_attribute(
            "data-status", "ready", timeout=INGESTED
        )
        drop(page, [("valves.txt", sentences("Valve", 8), "text/plain")])
        expect(upload_row(page, "valves.txt")).to_have_attribute(
            "data-status", "failed", timeout=INGESTED
        )
        reason = document_row(page, "valves.txt").get_by_label("Failure of valves.txt")
        expect(reason).to_contain_text("REPORUNNER_MAX_BASE_CHUNKS")
        expect(upload_row(page, "valves.txt").get_by_role("status")).to_contain_text(
            "the limit is 8"
        )
        shot(page, "knowledge-failed")

        pumps = document_row(page, "pumps.txt")
        pumps.get_by_role("button", name="Delete pumps.txt").click()
        pumps.get_by_role("button", name="Confirm delete pumps.txt").click()
        expect(document_row(page, "pumps.txt")).to_have_count(0)
        document_row(page, "valves.txt").get_by_role("button", name="Retry valves.txt").click()
        expect(document_row(page, "valves.txt")).to_have_attribute(
            "data-status", "ready", timeout=INGESTED
        )
        expect(upload_row(page, "valves.txt")).to_have_attribute("data-status", "ready")
        expect(
            document_row(page, "valves.txt").get_by_label("Failure of valves.txt")
        ).to_have_count(0)
        shot(page, "knowledge-retried")
        status, docs = server.api("GET", f"/knowledge-bases/{base_id}/documents")
        assert status == 200
        assert [(d["name"], d["status"], d["error"]) for d in docs] == [
            ("valves.txt", "ready", None)
        ]
    finally:
        context.close()
    assert not errors, errors


# web/src/knowledge/api.ts interface -> (OpenAPI schema, must the field sets be equal)
KB_MIRRORS = {
    "KnowledgeBase": ("KnowledgeBaseOut", True),
    "KnowledgeBaseCreate": ("KnowledgeBaseCreate", True),
    "KbDocument": ("DocumentOut", True),
    "UploadedDocument": ("UploadedDocument", True),
    "Citation": ("CitationOut", True),
    "SearchOut": ("SearchOut", True),
    "SearchIn": ("SearchRequest", False),
}


def test_knowledge_client_types_match_the_openapi_document(server: Server) -> None:
    status, doc = server.api("GET", "/docs/openapi.json")
    assert status == 200, doc
    schemas = doc["components"]["schemas"]
    source = (WEB / "src" / "knowledge" / "api.ts").read_text()
    ts = {
        name: set(re.findall(r"^  (\w+)\??:", body, re.M))
        for name, body in re.findall(r"export interface (\w+) \{\n(.*?)\n\}", source, re.S)
    }
    for ts_name, (schema_name, equal) in KB_MIRRORS.items():
        assert ts_name in ts, f"web/src/knowledge/api.ts lacks interface {ts_name}"
        server_fields = set(schemas[schema_name]["properties"])
        if equal:
            assert ts[ts_name] == server_fields, (ts_name, ts[ts_name] ^ server_fields)
        else:
            assert ts[ts_name] <= server_fields, (ts_name, ts[ts_name] - server_fields)
