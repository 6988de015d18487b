"""``sniff_file``: the same verdict as ``sniff`` for a file on disk, without reading a large one
whole (an upload is sniffed from its spool, never loaded into memory for it)."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from reporunner.knowledge.errors import DocumentEmpty, DocumentTooLarge, UnsupportedDocumentType
from reporunner.knowledge.parsing import ParseLimits, sniff, sniff_file
from reporunner.knowledge.parsing.sniff import SNIFF_HEAD_BYTES

BIG = SNIFF_HEAD_BYTES + 512 * 1024
LIMITS = ParseLimits(max_bytes=4 * BIG)


class CountingFile(io.BytesIO):
    """A file that remembers the most bytes it handed out."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.handed = 0

    def read(self, size: int | None = -1) -> bytes:
        piece = super().read(size)
        self.handed += len(piece)
        return piece


def _sniff(data: bytes) -> tuple[str, int]:
    handle = CountingFile(data)
    return sniff_file(handle, LIMITS), handle.handed


def _lines(line: bytes, size: int) -> bytes:
    return (line * (size // len(line) + 1))[:size]


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7 rest",
        b"<html><body><p>x</p></body></html>",
        b"Just words, nothing more. And more.",
        b"# Title\n\nbody",
        b'[{"a": 1}]',
        b'[{"a": 1}',
        b"a;b;c\n1;2;3\n4;5;6\n",
    ],
)
def test_a_small_file_gets_the_verdict_of_sniff(data: bytes) -> None:
    assert sniff_file(io.BytesIO(data), LIMITS) == sniff(data, LIMITS)


def test_a_large_text_is_judged_from_its_head() -> None:
    text = _lines(b"A line of prose about turbines and nothing more.\n", BIG)
    kind, handed = _sniff(text)
    assert kind == "txt" == sniff(text, LIMITS)
    assert handed <= SNIFF_HEAD_BYTES + 4096  # the head and the last 4 KiB, not the file
    markdown = b"# Manual\n\n" + _lines(b"Some text.\n", BIG)
    assert _sniff(markdown)[0] == "md" == sniff(markdown, LIMITS)


def test_a_large_json_is_json_when_its_end_closes_it() -> None:
    item = b'{"turbine": 1, "hours": 400}'
    body = b"[" + b",\n".join([item] * (BIG // len(item))) + b"]\n\n"
    kind, handed = _sniff(body)
    assert kind == "json" == sniff(body, LIMITS)
    assert handed <= SNIFF_HEAD_BYTES + 4096
    log = b"[2026-12-07] " + _lines(b"INFO pump started\n", BIG)  # a bracket, then prose
    assert _sniff(log)[0] != "json"


def test_a_large_pdf_and_docx_by_their_magic_and_directory() -> None:
    assert _sniff(b"%PDF-1.7\n" + os.urandom(BIG))[0] == "pdf"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/media/image1.bin", os.urandom(BIG))
    assert _sniff(buffer.getvalue())[0] == "docx"
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("data.bin", os.urandom(BIG))
    with pytest.raises(UnsupportedDocumentType, match="not a Word"):
        _sniff(other.getvalue())


def test_a_large_binary_blank_or_oversized_file_is_refused() -> None:
    with pytest.raises(UnsupportedDocumentType):
        _sniff(b"\x00\x01\x02" * (BIG // 3))
    with pytest.raises(DocumentEmpty):
        _sniff(b" \n" * (BIG // 2))
    with pytest.raises(DocumentTooLarge):
        sniff_file(io.BytesIO(b"x" * 101), ParseLimits(max_bytes=100))
