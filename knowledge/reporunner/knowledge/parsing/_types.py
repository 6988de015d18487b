"""What every parser returns: one document text and the sections that tile it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from reporunner.knowledge.errors import DocumentTooLarge

__all__ = [
    "DocumentKind",
    "ParseLimits",
    "ParsedDocument",
    "Section",
    "SectionBuilder",
    "char_limit",
]

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
        max_chars: Most characters one document may extract to (a 307 KB PDF of 2,000 pages
            can hold ~240 M); the parser stops as soon as it is passed.
        max_chunks: Most chunks one document may make.
        max_base_chunks: Most chunks one knowledge base may hold; a document that would pass
            it is refused with the figure.
    """

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 2000
    max_records: int = 200_000
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: float = 100.0
    max_chars: int = 20_000_000
    max_chunks: int = 20_000
    max_base_chunks: int = 1_000_000


_MAX_CHARS: ContextVar[int | None] = ContextVar("max_document_chars", default=None)


@contextmanager
def char_limit(max_chars: int) -> Iterator[None]:
    """Every :class:`SectionBuilder` made inside stops at ``max_chars`` characters."""
    token = _MAX_CHARS.set(max_chars)
    try:
        yield
    finally:
        _MAX_CHARS.reset(token)


class SectionBuilder:
    """Concatenates section texts (blank line between) and records each one's offsets."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.sections: list[Section] = []
        self._max_chars = _MAX_CHARS.get()

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
        if self._max_chars is not None and self._length > self._max_chars:
            raise DocumentTooLarge(
                f"the document extracts to more than {self._max_chars} characters "
                "(REPORUNNER_MAX_DOCUMENT_CHARS); split it into smaller files",
                limit=self._max_chars,
            )
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
