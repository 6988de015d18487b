"""Parsing real files of every supported format, and refusing bad ones clearly."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from reporunner.knowledge.errors import (
    DocumentCorrupt,
    DocumentEmpty,
    DocumentEncrypted,
    DocumentTooLarge,
    UnsafeDocument,
    UnsupportedDocumentType,
)
from reporunner.knowledge.parsing import (
    ParsedDocument,
    ParseLimits,
    parse_document,
    sniff,
    sniff_file,
)
from reporunner.knowledge.parsing.sniff import SNIFF_HEAD_BYTES as SNIFF_HEAD

PdfFactory = Callable[[list[str]], bytes]
DocxFactory = Callable[[list[tuple[str, str]]], bytes]


def _offsets_consistent(doc: ParsedDocument) -> None:
    for section in doc.sections:
        assert doc.text[section.char_start : section.char_end] == section.text


def test_txt_is_one_section_and_decodes_latin1() -> None:
    doc = parse_document("Caf\u00e9 au lait.\n\nSecond paragraph.".encode("cp1252"))
    assert doc.kind == "txt"
    assert "Café" in doc.text
    assert "Second paragraph." in doc.text
    _offsets_consistent(doc)


def test_markdown_sections_carry_heading_paths() -> None:
    text = (
        "# Guide\n\nIntro text.\n\n## Install\n\nRun pip.\n\n```\n# not a heading\n```\n\n"
        "### Linux\n\nUse apt.\n\n## Usage\n\nCall it."
    )
    doc = parse_document(text.encode())
    assert doc.kind == "md"
    paths = {s.heading_path: s.text for s in doc.sections}
    assert ("Guide", "Install") in paths
    assert "# not a heading" in paths[("Guide", "Install")]
    assert paths[("Guide", "Install", "Linux")].endswith("Use apt.")
    assert paths[("Guide", "Usage")].endswith("Call it.")
    assert doc.title == "Guide"
    _offsets_consistent(doc)


def test_html_keeps_main_content_not_navigation() -> None:
    html = b"""<!DOCTYPE html><html><head><title>Pumps</title><script>var x=1;</script></head>
    <body><nav><a href="/">Home</a> <a href="/about">About us</a></nav>
    <div class="sidebar"><p>Subscribe to our newsletter for deals, offers, and more.</p></div>
    <div id="content"><h1>Centrifugal pumps</h1>
      <p>A centrifugal pump moves fluid by converting rotational energy, from a motor, into
      kinetic energy of the fluid, which then becomes pressure.</p>
      <h2>Cavitation</h2><p>Cavitation happens when local pressure falls below vapour pressure,
      forming bubbles that collapse, damaging the impeller.</p></div>
    <footer><p>Copyright 2024, all rights reserved, Example Corp.</p></footer></body></html>"""
    doc = parse_document(html)
    assert doc.kind == "html"
    assert doc.title == "Pumps"
    assert "rotational energy" in doc.text
    assert "newsletter" not in doc.text
    assert "Home" not in doc.text
    assert "Copyright" not in doc.text
    assert "var x" not in doc.text
    cavitation = next(s for s in doc.sections if "vapour" in s.text)
    assert cavitation.heading_path == ("Centrifugal pumps", "Cavitation")
    _offsets_consistent(doc)


def test_pdf_text_per_page_with_page_numbers(pdf_factory: PdfFactory) -> None:
    doc = parse_document(pdf_factory(["Alpha page talks about wings.", "Beta page: rotors."]))
    assert doc.kind == "pdf"
    assert [s.page for s in doc.sections] == [1, 2]
    assert "wings" in doc.sections[0].text
    assert "rotors" in doc.sections[1].text
    assert doc.title == "Test manual"
    _offsets_consistent(doc)


def test_pdf_encrypted_is_refused_clearly(pdf_factory: PdfFactory) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_factory(["secret"]))))
    writer.encrypt(user_password="hunter2", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(DocumentEncrypted, match="password"):
        parse_document(buffer.getvalue())


def test_pdf_without_text_is_empty(pdf_factory: PdfFactory) -> None:
    with pytest.raises(DocumentEmpty, match="OCR"):
        parse_document(pdf_factory(["", ""]))


def test_pdf_corrupt_is_refused(pdf_factory: PdfFactory) -> None:
    data = pdf_factory(["some text"])
    with pytest.raises(DocumentCorrupt):
        parse_document(data[:200])


def test_pdf_page_cap(pdf_factory: PdfFactory) -> None:
    with pytest.raises(DocumentTooLarge, match="3 pages") as info:
        parse_document(pdf_factory(["a", "b", "c"]), ParseLimits(max_pages=2))
    assert info.value.status == 413


def test_docx_headings_paragraphs_and_tables(docx_factory: DocxFactory) -> None:
    data = docx_factory(
        [
            ("h1", "Handbook"),
            ("p", "Welcome to the handbook."),
            ("h2", "Leave"),
            ("p", "You get 25 days of leave."),
            ("table", "Kind|Days;Sick|10"),
            ("h2", "Travel"),
            ("p", "Book trains, not planes."),
        ]
    )
    doc = parse_document(data)
    assert doc.kind == "docx"
    leave = next(s for s in doc.sections if "25 days" in s.text)
    assert leave.heading_path == ("Handbook", "Leave")
    assert "Sick | 10" in leave.text
    travel = next(s for s in doc.sections if "trains" in s.text)
    assert travel.heading_path == ("Handbook", "Travel")
    _offsets_consistent(doc)


def _rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for name, content in replace.items():
            if name not in source.namelist():
                target.writestr(name, content)
    return out.getvalue()


def test_docx_zip_bomb_refused_before_inflating(docx_factory: DocxFactory) -> None:
    bomb = _rezip(docx_factory([("p", "hi")]), {"word/media/zeros.bin": b"\0" * 5_000_000})
    with pytest.raises(UnsafeDocument, match="zip bomb"):
        parse_document(bomb)
    with pytest.raises(UnsafeDocument, match="limit"):
        parse_document(docx_factory([("p", "hi")]), ParseLimits(max_uncompressed_bytes=1000))


def test_docx_xml_entities_refused(docx_factory: DocxFactory) -> None:
    data = docx_factory([("p", "hi")])
    original = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    evil = original.replace(
        b"?>", b'?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', 1
    )
    with pytest.raises(UnsafeDocument, match="entit"):
        parse_document(_rezip(data, {"word/document.xml": evil}))


def test_csv_rows_are_sections_with_typed_metadata() -> None:
    data = b"sku,name,price\nA1,Blue pump,12.5\nB2,Red valve,3\n"
    doc = parse_document(data)
    assert doc.kind == "csv"
    assert len(doc.sections) == 2
    first = doc.sections[0]
    assert first.metadata == {"row": 1, "sku": "A1", "name": "Blue pump", "price": 12.5}
    assert "name: Blue pump" in first.text
    _offsets_consistent(doc)


def test_json_records_are_sections_with_metadata() -> None:
    records = {"items": [{"id": 1, "title": "Alpha", "tags": ["x"]}, {"id": 2, "title": "Beta"}]}
    doc = parse_document(json.dumps(records).encode())
    assert doc.kind == "json"
    assert [s.metadata["id"] for s in doc.sections] == [1, 2]
    assert "tags" not in doc.sections[0].metadata
    assert 'tags: ["x"]' in doc.sections[0].text
    _offsets_consistent(doc)


def test_record_cap() -> None:
    with pytest.raises(DocumentTooLarge):
        parse_document(b"a,b\n1,2\n3,4\n5,6\n", ParseLimits(max_records=2))


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7 rest", "pdf"),
        (b"<html><body><p>x</p></body></html>", "html"),
        (b"Just words, nothing more. And more.", "txt"),
        (b"# Title\n\nbody", "md"),
        (b'[{"a": 1}]', "json"),
        (b"a;b;c\n1;2;3\n4;5;6\n", "csv"),
        (b"Hello, world.\nThis line, also prose, is long and has commas.\n", "txt"),
        (b"a title, with a comma .\n\nthe text, with a comma .", "txt"),
    ],
)
def test_sniffing_uses_content_not_names(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def _padded(head: bytes, fill: bytes, tail: bytes = b"") -> bytes:
    """``head`` + ``fill`` repeated past the sniffing head + ``tail``: a large file."""
    return head + fill * (2 * SNIFF_HEAD // len(fill)) + tail


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7 rest", "pdf"),
        (b"# Title\n\nbody", "md"),
        (_padded(b"%PDF-1.7\n", b"0 0 obj\n"), "pdf"),
        (_padded(b"<html><body>", b"<p>words</p>\n", b"</body></html>"), "html"),
        (_padded(b"# Title\n\n", b"Some words of the body.\n"), "md"),
        (_padded(b'[{"a": 1}', b', {"a": 2}', b"]\n"), "json"),
        (_padded(b"a;b;c\n", b"1;2;3\n"), "csv"),
        (_padded(b"Plain prose ", b"and more plain prose. "), "txt"),
        # a multi-byte character cut at the end of the head still reads as UTF-8
        (_padded(b"Plain prose ", "caf\u00e9 \u2014 na\u00efve ".encode()), "txt"),
    ],
)
def test_sniffing_a_file_reads_only_its_head(data: bytes, kind: str) -> None:
    handle = io.BytesIO(data)
    assert sniff_file(handle) == kind
    if len(data) <= SNIFF_HEAD:
        assert sniff(data) == kind


def test_sniffing_a_large_file_refuses_what_sniff_refuses() -> None:
    with pytest.raises(DocumentTooLarge, match="limit is 10 bytes"):
        sniff_file(io.BytesIO(b"x" * 11), ParseLimits(max_bytes=10))
    with pytest.raises(DocumentEmpty):
        sniff_file(io.BytesIO(b" \n" * SNIFF_HEAD))
    with pytest.raises(UnsupportedDocumentType):
        sniff_file(io.BytesIO(_padded(b"\x89PNG\r\n\x1a\n", bytes(range(32)))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>" + "x" * 2 * SNIFF_HEAD)
    with pytest.raises(UnsupportedDocumentType, match="docx"):
        sniff_file(io.BytesIO(out.getvalue()))
    word = io.BytesIO()
    with zipfile.ZipFile(word, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>" + " " * 2 * SNIFF_HEAD)
    assert len(word.getvalue()) > SNIFF_HEAD
    assert sniff_file(io.BytesIO(word.getvalue())) == "docx"


def test_unsupported_binary_lists_supported_types() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(UnsupportedDocumentType, match="supported:") as info:
        parse_document(png)
    assert info.value.status == 415
    assert "application/pdf" in info.value.supported


def test_other_zip_formats_are_unsupported() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(UnsupportedDocumentType, match="docx"):
        parse_document(out.getvalue())


def test_size_limit_and_empty_file() -> None:
    with pytest.raises(DocumentTooLarge, match="limit is 10 bytes"):
        parse_document(b"x" * 11, ParseLimits(max_bytes=10))
    with pytest.raises(DocumentEmpty):
        parse_document(b"  \n ")


DATA = Path(__file__).resolve().parents[1] / "data" / "knowledge"


def test_shipped_blog_post_keeps_only_the_article() -> None:
    doc = parse_document((DATA / "blog_post.html").read_bytes())
    assert doc.kind == "html"
    assert doc.title == "Tuning HNSW indexes | Example Engineering Blog"
    for boilerplate in ("cookies", "Careers", "Popular posts", "Copyright", "analytics"):
        assert boilerplate not in doc.text
    query = next(s for s in doc.sections if "ef_search bounds" in s.text)
    assert query.heading_path == ("Tuning HNSW indexes", "Query parameter")
    _offsets_consistent(doc)


def test_shipped_runbook_heading_paths() -> None:
    doc = parse_document((DATA / "runbook.md").read_bytes())
    paths = [s.heading_path for s in doc.sections]
    assert paths == [
        ("Database runbook",),
        ("Database runbook", "Disk full"),
        ("Database runbook", "Disk full", "Emergency"),
        ("Database runbook", "Replication lag"),
    ]
    assert "inside a code fence" in doc.sections[1].text


def test_html_without_paragraph_tags_keeps_its_text() -> None:
    html = (
        b"<html><body><div class='menu'><a href='/'>Home</a></div><div id='main'>"
        b"<div>First block of text without any paragraph tags, long enough to count.</div>"
        b"<div>Second block, also plain divs, with more words in it.</div></div></body></html>"
    )
    doc = parse_document(html)
    assert "First block" in doc.text
    assert "Second block" in doc.text
    assert "Home" not in doc.text
    _offsets_consistent(doc)
