"""Finding 10: the .docx DTD pre-check read only each part's first 64 KB.

The attack: a DTD after 64 KB of padding passed the check (entities were still not resolved,
so nothing leaked). Now the whole part is searched, in chunks that overlap, so padding of any
length (or a declaration split across two chunks) is found.
"""

from __future__ import annotations

import base64
import io
import os
import zipfile

import pytest

from reporunner.knowledge.errors import UnsafeDocument
from reporunner.knowledge.parsing import parse_document

_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
)


def _docx(document_xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _TYPES)
        archive.writestr("word/document.xml", document_xml)
    return buffer.getvalue()


@pytest.mark.parametrize("padding", [64 * 1024, 256 * 1024 - 5, 3 * 1024 * 1024])
def test_a_dtd_after_padding_is_refused(padding: int) -> None:
    body = (
        b'<?xml version="1.0"?>'
        + b"<!-- "
        + base64.b64encode(os.urandom(padding))[:padding]
        + b" -->"
        + b'<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]><w>&x;</w>'
    )
    # random padding: it does not compress, so the zip-bomb check does not catch it first
    with pytest.raises(UnsafeDocument, match="DTD or XML entities"):
        parse_document(_docx(body))
