"""An encrypted, a text-less and a corrupt PDF uploaded with a good file: each bad one ends
``failed`` with its reason (from the worker's job), the good one still ends ``ready``."""

from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable

from pypdf import PdfReader, PdfWriter

from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.session import transaction
from reporunner.platform.knowledge import IncomingFile
from reporunner.platform.knowledge import service as kb
from reporunner.platform.knowledge.schemas import KnowledgeBaseCreate
from reporunner.platform.resources import Resources


def _pdf(pages: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for page in pages:
        pdf.drawString(50, 800, page)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _encrypted() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(["the launch codes"]))))
    writer.encrypt(user_password="hunter2", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


async def test_bad_pdfs_fail_with_reasons_and_the_rest_of_the_upload_succeeds(
    kb_resources: Resources, drain_queue: Callable[[], Awaitable[None]]
) -> None:
    slug = f"ws-{uuid.uuid4().hex[:10]}"
    async with kb_resources.sessions() as session, session.begin():
        workspace, _, _ = await create_workspace_with_owner(
            session, slug=slug, email=f"{slug}@example.test"
        )
    base = await kb.create_base(kb_resources, workspace.id, KnowledgeBaseCreate(name="pdfs"))
    files = [
        IncomingFile("locked.pdf", _encrypted(), "upload"),
        IncomingFile("scan.pdf", _pdf(["", ""]), "upload"),  # pages without a text layer
        IncomingFile("torn.pdf", _pdf(["some text"])[:300], "upload"),
        IncomingFile("notes.md", b"# Notes\n\nThe pump runs at 1450 rpm.\n", "upload"),
    ]
    accepted = await kb.upload_documents(kb_resources, workspace.id, base.id, files)
    assert [d.status for d in accepted] == ["queued"] * 4

    await drain_queue()

    async with transaction(kb_resources.sessions) as db:
        final = {d.name: d for d in await kb.list_documents(db, workspace.id, base.id)}
    assert final["notes.md"].status == "ready"
    assert final["notes.md"].chunks_total >= 1
    for name in ("locked.pdf", "scan.pdf", "torn.pdf"):
        assert final[name].status == "failed", name
        assert final[name].chunks_total == 0
    assert "password" in (final["locked.pdf"].error or "")
    assert "OCR" in (final["scan.pdf"].error or "")
    assert "PDF" in (final["torn.pdf"].error or "")
