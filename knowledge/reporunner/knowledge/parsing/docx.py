"""Word .docx: paragraphs and tables in body order, headings kept as heading paths.

A .docx is a zip of XML parts, so before python-docx opens it we refuse zip bombs (declared
uncompressed sizes and per-member compression ratios, read from the central directory without
inflating anything) and XML parts that declare a DTD or entities (billion laughs, XXE).
"""

from __future__ import annotations

import io
import re
import zipfile

from reporunner.knowledge.errors import DocumentCorrupt, DocumentEmpty, UnsafeDocument
from reporunner.knowledge.parsing._types import ParsedDocument, ParseLimits, SectionBuilder

__all__ = ["check_zip", "parse_docx"]

_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)$", re.IGNORECASE)
_MAX_MEMBERS = 10_000


def check_zip(archive: zipfile.ZipFile, limits: ParseLimits) -> None:
    """Refuse an archive whose declared sizes could exhaust memory when inflated.

    Raises:
        UnsafeDocument: too many members, too large in total, or a member compressed so well
            that it is almost certainly a bomb.
    """
    members = archive.infolist()
    if len(members) > _MAX_MEMBERS:
        raise UnsafeDocument(f"the file holds {len(members)} zip members; refusing (zip bomb?)")
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise UnsafeDocument(
            f"the file would inflate to {total} bytes, over the {limits.max_uncompressed_bytes}"
            " byte limit; refusing (zip bomb?)"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
            raise UnsafeDocument(
                f"zip member {member.filename!r} inflates {ratio:.0f}x, over the "
                f"{limits.max_compression_ratio:.0f}x limit; refusing (zip bomb?)"
            )


def _declares_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether the part declares a DTD or an entity anywhere (the whole part is read in
    chunks, each searched with the tail of the one before: padding cannot hide it)."""
    tail = b""
    with archive.open(member) as part:
        while chunk := part.read(256 * 1024):
            window = tail + chunk
            if _DTD.search(window):
                return True
            tail = window[-16:]
    return False


def _check_xml_parts(archive: zipfile.ZipFile) -> None:
    for member in archive.infolist():
        if not member.filename.endswith((".xml", ".rels")):
            continue
        if _declares_dtd(archive, member):
            raise UnsafeDocument(
                f"part {member.filename!r} declares a DTD or XML entities, which Word never "
                "writes; refusing (entity expansion / XXE)"
            )


def _heading_level(style_name: str | None) -> int | None:
    if not style_name:
        return None
    if style_name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(style_name.strip())
    return int(match.group(1)) if match else None


def parse_docx(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Sections per heading; tables become one line per row (cells joined by `` | ``).

    Raises:
        UnsafeDocument: zip bomb or DTD/entities.
        DocumentCorrupt: not a readable .docx.
        DocumentEmpty: no text at all.
    """
    limits = limits or ParseLimits()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip(archive, limits)
            _check_xml_parts(archive)
    except zipfile.BadZipFile as err:
        raise DocumentCorrupt(f"the .docx is not a valid zip archive ({err})") from err

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as err:  # python-docx raises assorted lxml/KeyError/ValueError types
        raise DocumentCorrupt(f"the .docx cannot be read ({err}); re-save it in Word") from err

    builder = SectionBuilder()
    stack: list[tuple[int, str]] = []
    current: list[str] = []
    title: str | None = document.core_properties.title or None

    def flush() -> None:
        builder.add("\n\n".join(current), heading_path=tuple(h for _, h in stack))
        current.clear()

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = []
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                rows.append(" | ".join(c for c in cells if c))
            current.append("\n".join(r for r in rows if r))
            continue
        assert isinstance(block, Paragraph)
        text = block.text.strip()
        if not text:
            continue
        level = _heading_level(block.style.name if block.style is not None else None)
        if level is not None:
            flush()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
            title = title or text
        current.append(text)
    flush()
    if not builder.sections:
        raise DocumentEmpty("the .docx holds no text")
    return builder.build(
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        title=title,
    )
