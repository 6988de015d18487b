"""Content sniffing: the bytes decide the parser, never the client's name or Content-Type."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from typing import IO

from reporunner.knowledge.errors import DocumentEmpty, DocumentTooLarge, UnsupportedDocumentType
from reporunner.knowledge.parsing._types import DocumentKind, ParseLimits
from reporunner.knowledge.parsing.tabular import sniff_csv
from reporunner.knowledge.parsing.text import decode_text, looks_binary

__all__ = ["SNIFF_HEAD_BYTES", "SUPPORTED_TYPES", "sniff", "sniff_file"]

SUPPORTED_TYPES: dict[DocumentKind, str] = {
    "txt": "text/plain",
    "md": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv",
    "json": "application/json",
}
"""Every format we parse, by kind, with its MIME type."""

_HTML = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAGS = re.compile(r"<(?:p|div|h[1-6]|article|section|ul|table)\b[^>]*>", re.I)
_MARKDOWN = re.compile(
    r"^(?:#{1,6}[ \t]+\S|```|~~~|[-*+][ \t]+\S.*\n[-*+][ \t]+\S|\S.*\n(?:=+|-{3,})[ \t]*$)"
    r"|\[[^\]\n]+\]\([^)\s]+\)",
    re.MULTILINE,
)


def _unsupported(what: str) -> UnsupportedDocumentType:
    names = ", ".join(f".{k} ({v})" for k, v in SUPPORTED_TYPES.items())
    return UnsupportedDocumentType(
        f"{what} is not a supported document type; supported: {names}",
        supported=list(SUPPORTED_TYPES.values()),
    )


def _sniff_text(text: str, *, complete: bool = True, closed: bool = False) -> DocumentKind:
    """The kind of a text; ``complete=False``: ``text`` is only the head of the file, whose
    last non-blank character closes a JSON value when ``closed``."""
    head = text[:4096]
    if _HTML.match(head) or len(_HTML_TAGS.findall(head)) >= 2:
        return "html"
    stripped = head.lstrip()
    if stripped[:1] in ("{", "["):
        if not complete:
            if closed:  # a large JSON file: the parser tells, with the reason, if it is not
                return "json"
        else:
            try:
                json.loads(text)
            except json.JSONDecodeError:
                pass
            else:
                return "json"
    if _MARKDOWN.search(head):
        return "md"
    dialect = sniff_csv(head)
    if dialect is not None:
        header = next(csv.reader(io.StringIO(head), dialect), [])
        if all(0 < len(cell.strip()) <= 64 for cell in header):  # prose lines are not headers
            return "csv"
    return "txt"


def sniff(data: bytes, limits: ParseLimits | None = None) -> DocumentKind:
    """Tell which parser reads ``data`` from its magic bytes and structure.

    Raises:
        DocumentTooLarge: over ``limits.max_bytes``.
        UnsupportedDocumentType: a binary format we do not parse (its message lists ours).
    """
    limits = limits or ParseLimits()
    if len(data) > limits.max_bytes:
        raise DocumentTooLarge(
            f"the file is {len(data)} bytes; the limit is {limits.max_bytes} bytes",
            limit=limits.max_bytes,
        )
    if data[:1024].lstrip().startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            raise _unsupported("a damaged zip archive") from None
        if "word/document.xml" in names:
            return "docx"
        raise _unsupported("this zip-based file (not a Word .docx)")
    if not data.strip():
        raise DocumentEmpty("the file is empty")
    if looks_binary(data):
        raise _unsupported("this binary file")
    return _sniff_text(decode_text(data))


SNIFF_HEAD_BYTES = 4 * 1024 * 1024
"""A file larger than this is sniffed from its head (and tail) only, never read whole."""


def _too_large(size: int, limits: ParseLimits) -> DocumentTooLarge:
    return DocumentTooLarge(
        f"the file is {size} bytes; the limit is {limits.max_bytes} bytes",
        limit=limits.max_bytes,
    )


def _blank_to_end(handle: IO[bytes]) -> bool:
    while piece := handle.read(1024 * 1024):
        if piece.strip():
            return False
    return True


def _decode_head(head: bytes) -> str:
    """The text of a file's head (its last character may be cut in half: dropped)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return codecs.getincrementaldecoder("utf-16")("replace").decode(head, final=False)
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return decode_text(head)


def sniff_file(handle: IO[bytes], limits: ParseLimits | None = None) -> DocumentKind:
    """:func:`sniff` for a file on disk (or a spool), reading at most about
    :data:`SNIFF_HEAD_BYTES` of it: a large upload is never held in memory to be sniffed.

    A small file is sniffed whole, exactly as :func:`sniff` does. A larger one is judged from
    its head: the magic bytes (PDF), the zip directory (DOCX, read from the file), binary
    content, the text kind; a large text starting with ``{``/``[`` is JSON when its last
    non-blank byte closes it (the parser reports malformed JSON when it ingests it).

    Raises:
        DocumentTooLarge: over ``limits.max_bytes``.
        DocumentEmpty: nothing but blanks.
        UnsupportedDocumentType: a binary format we do not parse.
    """
    limits = limits or ParseLimits()
    size = handle.seek(0, io.SEEK_END)
    if size > limits.max_bytes:
        raise _too_large(size, limits)
    handle.seek(0)
    if size <= SNIFF_HEAD_BYTES:
        return sniff(handle.read(), limits)
    head = handle.read(SNIFF_HEAD_BYTES)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        head = b""
        try:
            with zipfile.ZipFile(handle) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            raise _unsupported("a damaged zip archive") from None
        if "word/document.xml" in names:
            return "docx"
        raise _unsupported("this zip-based file (not a Word .docx)")
    if not head.strip() and _blank_to_end(handle):
        raise DocumentEmpty("the file is empty")
    if looks_binary(head):
        raise _unsupported("this binary file")
    handle.seek(max(0, size - 4096))
    closed = handle.read().rstrip()[-1:] in (b"}", b"]")
    return _sniff_text(_decode_head(head), complete=False, closed=closed)
