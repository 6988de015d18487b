"""Content sniffing: the bytes decide the parser, never the client's name or Content-Type."""

from __future__ import annotations

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

__all__ = ["SNIFF_HEAD", "SUPPORTED_TYPES", "sniff", "sniff_file"]

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


SNIFF_HEAD = 64 * 1024
"""Bytes of a large file :func:`sniff_file` reads to tell its kind (its whole memory use,
with a .docx's zip directory)."""


def _sniff_text(text: str, *, whole: bool = True) -> DocumentKind:
    head = text[:4096]
    if _HTML.match(head) or len(_HTML_TAGS.findall(head)) >= 2:
        return "html"
    stripped = head.lstrip()
    if stripped[:1] in ("{", "[") and whole:
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


def _complete_utf8(head: bytes) -> bytes:
    """``head`` without a multi-byte UTF-8 character cut at its end (when it is UTF-8)."""
    for cut in range(4):
        try:
            head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return head[: len(head) - cut]
    return head


def _only_whitespace(handle: IO[bytes]) -> bool:
    handle.seek(0)
    while block := handle.read(SNIFF_HEAD):
        if block.strip():
            return False
    return True


def _last_byte(handle: IO[bytes], size: int) -> bytes:
    """The file's last byte that is not whitespace (b"" when there is none in its tail)."""
    handle.seek(max(0, size - 4096))
    return handle.read().rstrip()[-1:]


def sniff_file(handle: IO[bytes], limits: ParseLimits | None = None) -> DocumentKind:
    """:func:`sniff` of a seekable file, holding at most :data:`SNIFF_HEAD` bytes of it (and
    a .docx's zip directory) in memory however large it is.

    A small file is sniffed whole, as :func:`sniff` would. A large one is told from its head;
    a large text that starts like JSON and ends with ``}`` or ``]`` is taken as JSON (its
    parser refuses it at ingestion if it is not).

    Raises:
        DocumentTooLarge: over ``limits.max_bytes``.
        UnsupportedDocumentType: a binary format we do not parse.
        DocumentEmpty: nothing but whitespace.
    """
    limits = limits or ParseLimits()
    size = handle.seek(0, io.SEEK_END)
    if size > limits.max_bytes:
        raise DocumentTooLarge(
            f"the file is {size} bytes; the limit is {limits.max_bytes} bytes",
            limit=limits.max_bytes,
        )
    handle.seek(0)
    if size <= SNIFF_HEAD:
        return sniff(handle.read(), limits)
    head = handle.read(SNIFF_HEAD)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            raise _unsupported("a damaged zip archive") from None
        if "word/document.xml" in names:
            return "docx"
        raise _unsupported("this zip-based file (not a Word .docx)")
    if not head.strip() and _only_whitespace(handle):
        raise DocumentEmpty("the file is empty")
    if looks_binary(head):
        raise _unsupported("this binary file")
    text = decode_text(_complete_utf8(head))
    if text.lstrip()[:1] in ("{", "[") and _last_byte(handle, size) in (b"}", b"]"):
        return "json"
    return _sniff_text(text, whole=False)
