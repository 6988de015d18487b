"""What every parser returns: one document text and the sections that tile it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DocumentKind", "ParseLimits", "ParsedDocument", "Section", "SectionBuilder"]

DocumentKind = str
"""One of ``txt``, ``md``, ``html``, ``pdf``, ``docx``, ``csv``, ``json``."""


@dataclass(frozen=True, slots=True)
class Section:
    """A run of document text that shares one page and one heading path.

    Chunks never cross a section boundary, so that every chunk cites exactly one page and one
    heading. ``char_start``/``char_end`` index :attr:`ParsedDocument.text`.
    """

    text: str
    char_start: int
    char_end: int
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A parsed file: its full text, the sections that cover it and what we learned about it."""

    kind: DocumentKind
    mime_type: str
    text: str
    sections: tuple[Section, ...]
    title: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Caps that keep one hostile or huge file from exhausting a worker.

    Attributes:
        max_bytes: Largest accepted file.
        max_pages: Largest PDF page count.
        max_records: Most CSV rows / JSON records.
        max_uncompressed_bytes: Largest declared total size of a .docx's zip members.
        max_compression_ratio: Largest uncompressed/compressed ratio of one zip member.
    """

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 2000
    max_records: int = 200_000
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: float = 100.0


class SectionBuilder:
    """Concatenates section texts (blank line between) and records each one's offsets."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.sections: list[Section] = []

    def add(
        self,
        text: str,
        *,
        page: int | None = None,
        heading_path: tuple[str, ...] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Append ``text`` as one section; blank text is skipped."""
        text = text.strip()
        if not text:
            return
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        self.sections.append(
            Section(text, start, self._length, page, heading_path, dict(metadata or {}))
        )

    def text(self) -> str:
        """The document text the recorded offsets index."""
        return "".join(self._parts)

    def build(
        self,
        kind: DocumentKind,
        mime_type: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> ParsedDocument:
        """Freeze into a :class:`ParsedDocument`."""
        return ParsedDocument(
            kind, mime_type, self.text(), tuple(self.sections), title, dict(metadata or {})
        )
