"""Reading uploads: streamed multipart with limits, JSON {url | text}, URL fetching."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

import reporunner.platform.knowledge as public
from reporunner.knowledge import DocumentTooLarge
from reporunner.nodes.errors import SSRFBlockedError, ValidationFailed
from reporunner.platform.knowledge import (
    UploadLimits,
    UrlFetchFailed,
    fetch_url,
    files_from_json,
    files_from_multipart,
    read_json_body,
)

LIMITS = UploadLimits(max_bytes=100, max_files=2)
BOUNDARY = "xyzBOUNDARYzyx"


def test_public_surface_is_sorted_and_importable() -> None:
    assert public.__all__ == sorted(public.__all__, key=lambda n: (not n.isupper(), n))
    for name in public.__all__:
        assert getattr(public, name) is not None


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += data + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
async def test_multipart_files_and_fields_survive_any_chunking(chunk_size: int) -> None:
    body = _multipart(
        [
            ("files", "a.txt", b"alpha\r\n--not-a-boundary"),
            ("metadata", None, b'{"team": "red"}'),
            ("files", "b.md", b"# beta"),
            ("ignored", None, b"whatever"),
        ]
    )
    files = await files_from_multipart(_chunks(body, chunk_size), BOUNDARY, LIMITS)
    assert [(f.name, f.data, f.source) for f in files] == [
        ("a.txt", b"alpha\r\n--not-a-boundary", "upload"),
        ("b.md", b"# beta", "upload"),
    ]
    assert all(f.metadata == {"team": "red"} for f in files)


async def test_multipart_limits() -> None:
    big = _multipart([("files", "big.txt", b"x" * 101)])
    with pytest.raises(DocumentTooLarge, match="limit of 100 bytes") as err:
        await files_from_multipart(_chunks(big, 16), BOUNDARY, LIMITS)
    assert err.value.extra["limit"] == 100
    three = _multipart([("files", f"{i}.txt", b"x") for i in range(3)])
    with pytest.raises(ValidationFailed, match="at most 2 files"):
        await files_from_multipart(_chunks(three, 16), BOUNDARY, LIMITS)
    with pytest.raises(ValidationFailed, match="no file"):
        await files_from_multipart(_chunks(_multipart([]), 16), BOUNDARY, LIMITS)
    bad_meta = _multipart([("files", "a.txt", b"x"), ("metadata", None, b"[1, 2]")])
    with pytest.raises(ValidationFailed, match="JSON object"):
        await files_from_multipart(_chunks(bad_meta, 16), BOUNDARY, LIMITS)
    with pytest.raises(ValidationFailed, match="malformed multipart"):
        await files_from_multipart(_chunks(b"garbage without boundary", 16), BOUNDARY, LIMITS)


async def test_text_field_in_multipart_and_json_text() -> None:
    body = _multipart([("text", None, b"inline words"), ("name", None, b"inline.txt")])
    [item] = await files_from_multipart(_chunks(body, 5), BOUNDARY, LIMITS)
    assert (item.name, item.data, item.source) == ("inline.txt", b"inline words", "text")
    [unnamed] = await files_from_json(b'{"text": "hello"}', LIMITS)
    assert unnamed.name.startswith("text-")
    with pytest.raises(ValidationFailed, match="exactly one"):
        await files_from_json(b"{}", LIMITS)
    with pytest.raises(ValidationFailed, match="/extra"):
        await files_from_json(b'{"text": "a", "extra": 1}', LIMITS)
    with pytest.raises(ValidationFailed, match="http"):
        await files_from_json(b'{"url": "file:///etc/passwd"}', LIMITS)


def _peer(request: httpx.Request) -> httpx.Response:
    """A fake document server."""
    if request.url.path == "/docs/guide.md":
        return httpx.Response(200, content=b"# Guide\n\nSteps.")
    if request.url.path == "/big":
        return httpx.Response(200, content=b"y" * 500)
    if request.url.path == "/declared-big":
        return httpx.Response(200, headers={"content-length": "100000"}, content=b"z")
    return httpx.Response(404)


async def test_url_documents_are_fetched_with_the_size_limit() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_peer)) as client:
        [doc] = await files_from_json(
            b'{"url": "https://docs.example.test/docs/guide.md", "metadata": {"k": 1}}',
            LIMITS,
            client,
        )
        assert (doc.name, doc.data, doc.source, doc.metadata) == (
            "guide.md",
            b"# Guide\n\nSteps.",
            "url",
            {"k": 1},
        )
        for path in ("/big", "/declared-big"):
            with pytest.raises(DocumentTooLarge):
                await fetch_url(f"https://docs.example.test{path}", LIMITS, client)
        with pytest.raises(UrlFetchFailed, match="HTTP 404"):
            await fetch_url("https://docs.example.test/missing", LIMITS, client)


async def test_url_fetch_goes_through_the_ssrf_guard() -> None:
    for url in (
        "http://127.0.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/",
    ):
        with pytest.raises(SSRFBlockedError):
            await fetch_url(url, LIMITS)


async def test_json_bodies_are_read_with_a_cap() -> None:
    small = await read_json_body(_chunks(b'{"text": "hi"}', 4), LIMITS)
    assert small == b'{"text": "hi"}'
    huge = b'{"text": "' + b"x" * (2 * LIMITS.max_bytes + 70_000) + b'"}'
    with pytest.raises(DocumentTooLarge):
        await read_json_body(_chunks(huge, 4096), LIMITS)
    with pytest.raises(DocumentTooLarge, match="limit of 100 bytes"):
        await files_from_json(b'{"text": "' + b"y" * 101 + b'"}', LIMITS)
