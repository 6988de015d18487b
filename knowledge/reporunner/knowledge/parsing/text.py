"""Plain text and Markdown: decoding, and Markdown's headings as sections."""

from __future__ import annotations

import re

from reporunner.knowledge.errors import DocumentCorrupt
from reporunner.knowledge.parsing._types import ParsedDocument, SectionBuilder

__all__ = ["decode_text", "looks_binary", "parse_markdown", "parse_text"]

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^(```|~~~)")


def looks_binary(data: bytes) -> bool:
    """True when the first KiB holds NUL bytes or many control characters (not text)."""
    head = data[:1024]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return bool(head) and controls / len(head) > 0.1


def decode_text(data: bytes) -> str:
    """Decode bytes as UTF-8 (BOM-aware, UTF-16 when it has a BOM), else guess the charset.

    Raises:
        DocumentCorrupt: no charset decodes the bytes into text.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise DocumentCorrupt("the file is not text in any charset we recognise; save it as UTF-8")
    return str(best)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_text(data: bytes) -> ParsedDocument:
    """A .txt file is one section; the chunker splits it at paragraphs and sentences."""
    builder = SectionBuilder()
    builder.add(_normalise(decode_text(data)))
    return builder.build("txt", "text/plain")


def parse_markdown(data: bytes) -> ParsedDocument:
    """Split Markdown at its ATX/setext headings (not inside code fences).

    Each section starts with its heading line and carries the path of headings above it, so a
    citation can say "Install > Linux".
    """
    lines = _normalise(decode_text(data)).split("\n")
    builder = SectionBuilder()
    stack: list[tuple[int, str]] = []
    current: list[str] = []
    title: str | None = None
    in_fence = False

    def flush() -> None:
        builder.add("\n".join(current), heading_path=tuple(h for _, h in stack))
        current.clear()

    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading: tuple[int, str] | None = None
        if not in_fence:
            if m := _ATX.match(line):
                heading = (len(m.group(1)), m.group(2).strip())
            elif (
                index + 1 < len(lines)
                and line.strip()
                and _SETEXT.match(lines[index + 1])
                and not (lines[index + 1].startswith("-") and len(lines[index + 1].strip()) < 3)
            ):
                heading = (1 if lines[index + 1].startswith("=") else 2, line.strip())
        if heading is not None:
            flush()
            level, name = heading
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, name))
            title = title or name
        current.append(line)
    flush()
    return builder.build("md", "text/markdown", title=title)
