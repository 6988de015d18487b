"""Document parsing: sniff the bytes, pick the parser, return sections with offsets.

Use :func:`parse_document`; the format modules are importable for tests and special cases.
"""

from __future__ import annotations

from reporunner.knowledge.parsing._types import (
    DocumentKind,
    ParsedDocument,
    ParseLimits,
    Section,
    SectionBuilder,
    char_limit,
)
from reporunner.knowledge.parsing.docx import parse_docx
from reporunner.knowledge.parsing.html import parse_html
from reporunner.knowledge.parsing.pdf import parse_pdf
from reporunner.knowledge.parsing.sniff import SUPPORTED_TYPES, sniff, sniff_file
from reporunner.knowledge.parsing.tabular import parse_csv, parse_json
from reporunner.knowledge.parsing.text import parse_markdown, parse_text

__all__ = [
    "SUPPORTED_TYPES",
    "DocumentKind",
    "ParseLimits",
    "ParsedDocument",
    "Section",
    "SectionBuilder",
    "parse_document",
    "sniff",
    "sniff_file",
]


def parse_document(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse a file whatever its claimed name or type: the content decides the parser.

    Args:
        data: The file's bytes.
        limits: Size, page and record caps (defaults are generous but finite).

    Returns:
        The document text and its sections (page, heading path, offsets).

    Raises:
        UnsupportedDocumentType: not one of :data:`SUPPORTED_TYPES` (HTTP 415).
        DocumentTooLarge: over a limit (HTTP 413).
        DocumentError: corrupt, encrypted, empty or unsafe file (the message says which).
    """
    limits = limits or ParseLimits()
    with char_limit(limits.max_chars):
        return _parse(data, limits)


def _parse(data: bytes, limits: ParseLimits) -> ParsedDocument:
    kind = sniff(data, limits)
    if kind == "pdf":
        return parse_pdf(data, limits)
    if kind == "docx":
        return parse_docx(data, limits)
    if kind == "csv":
        return parse_csv(data, limits)
    if kind == "json":
        return parse_json(data, limits)
    if kind == "html":
        return parse_html(data)
    if kind == "md":
        return parse_markdown(data)
    return parse_text(data)
