"""Fixtures of the knowledge tests: real files made on the fly (PDF, DOCX...)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest


def make_pdf(pages: list[str]) -> bytes:
    """A text PDF with one page per string (reportlab), lines split at newlines."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle("Test manual")
    for text in pages:
        y = 800
        for line in text.split("\n"):
            pdf.drawString(50, y, line)
            y -= 14
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_docx(blocks: list[tuple[str, str]]) -> bytes:
    """A .docx from (kind, text) blocks: kind is ``h1``..``h3``, ``p`` or ``table`` (a|b;c|d)."""
    import docx

    document = docx.Document()
    for kind, text in blocks:
        if kind.startswith("h"):
            document.add_heading(text, level=int(kind[1]))
        elif kind == "table":
            rows = [r.split("|") for r in text.split(";")]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    table.cell(i, j).text = cell
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def pdf_factory() -> Callable[[list[str]], bytes]:
    return make_pdf


@pytest.fixture
def docx_factory() -> Callable[[list[tuple[str, str]]], bytes]:
    return make_docx


@pytest.fixture(scope="session")
def minilm() -> Any:
    """The shared local all-MiniLM-L6-v2 embedder (loaded once per session)."""
    from reporunner.knowledge.embeddings import embedder_for

    return embedder_for("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
async def kb_engine(services: Any) -> AsyncIterator[Any]:
    """An async engine on the session's migrated database."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(services.database_url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture
def kb_store(kb_engine: Any) -> Any:
    from reporunner.knowledge.store import KnowledgeStore

    return KnowledgeStore(kb_engine)
