"""PDF: text per page with pypdf, page numbers kept for citations."""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

from reporunner.knowledge.errors import (
    DocumentCorrupt,
    DocumentEmpty,
    DocumentEncrypted,
    DocumentTooLarge,
)
from reporunner.knowledge.parsing._types import ParsedDocument, ParseLimits, SectionBuilder

__all__ = ["parse_pdf"]


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only to set permissions;
            # those open fine. Anything else needs the password, which we never have.
            try:
                opened = reader.decrypt("")
            except (FileNotDecryptedError, NotImplementedError, PyPdfError) as err:
                raise DocumentEncrypted(
                    "the PDF is password protected; remove the password and upload it again"
                ) from err
            if not opened:
                raise DocumentEncrypted(
                    "the PDF is password protected; remove the password and upload it again"
                )
        return reader
    except DocumentEncrypted:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as err:
        raise DocumentCorrupt(
            f"the PDF is damaged and cannot be read ({err}); re-export it"
        ) from err


def parse_pdf(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """One section per page (1-based ``page``), in page order.

    Raises:
        DocumentEncrypted: the PDF needs a password.
        DocumentCorrupt: pypdf cannot read the file.
        DocumentTooLarge: more pages than ``limits.max_pages``.
        DocumentEmpty: no page has extractable text (scans need OCR, which we do not run).
    """
    limits = limits or ParseLimits()
    reader = _open(data)
    try:
        page_count = len(reader.pages)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as err:
        raise DocumentCorrupt(f"the PDF's page tree is damaged ({err}); re-export it") from err
    if page_count > limits.max_pages:
        raise DocumentTooLarge(
            f"the PDF has {page_count} pages; the limit is {limits.max_pages}. Split it into "
            "smaller files",
            limit=limits.max_pages,
        )
    builder = SectionBuilder()
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as err:
            raise DocumentCorrupt(f"page {number} of the PDF cannot be read ({err})") from err
        builder.add(text.replace("\x00", ""), page=number)
    if not builder.sections:
        raise DocumentEmpty(
            f"the PDF has {page_count} page(s) but no extractable text (a scan needs OCR, "
            "which is not supported); upload a text-based PDF"
        )
    title = None
    try:
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError):
        title = None
    return builder.build("pdf", "application/pdf", title=title, metadata={"pages": page_count})
