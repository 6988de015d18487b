"""Reading an upload request into files: multipart (streamed, with limits), URL or raw text.

Limits are enforced while the bytes arrive, so an oversized file is refused (413, naming the
limit) as soon as it passes it. Each file part streams into a spool (a temporary file beyond
256 KB), so a request of many large files never holds them in memory at once. URLs are
fetched through the SSRF-guarded client, with the same size limit on the response body.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import httpx
from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
)
from pydantic import ValidationError

from reporunner.knowledge import DocumentTooLarge
from reporunner.nodes.errors import Problem, ReporunnerError, ValidationFailed
from reporunner.nodes.ssrf import guarded_client
from reporunner.platform.knowledge.schemas import DocumentSourceIn

__all__ = [
    "IncomingFile",
    "UploadLimits",
    "UrlFetchFailed",
    "fetch_url",
    "files_from_json",
    "files_from_multipart",
    "read_json_body",
]

_FIELDS = ("url", "text", "name", "metadata")


class UrlFetchFailed(ReporunnerError):
    """The document URL could not be fetched (network error or non-2xx answer)."""

    code = "url_fetch_failed"
    status = 422


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """Per-file size and per-request file count."""

    max_bytes: int
    max_files: int

    @property
    def max_request_bytes(self) -> int:
        """Whole multipart body: every file at its limit plus room for headers and fields."""
        return self.max_bytes * self.max_files + 1024 * 1024


SPOOL_IN_MEMORY = 256 * 1024
"""Bytes of one uploaded part held in memory before it moves to a temporary file."""

READ_BYTES = 1024 * 1024
"""Bytes read from a spool at a time (hashing, storing)."""


class IncomingFile:
    """One document of an upload, before it is stored.

    A multipart part arrives into a spool (memory up to :data:`SPOOL_IN_MEMORY`, a temporary
    file beyond), so a request of many large files never holds them all in memory; ``data``
    reads the one file whole when a caller needs it whole; :meth:`sha256` and :meth:`chunks`
    read it a piece at a time. Call :meth:`close` (or use ``with``) when done.
    """

    __slots__ = ("_data", "_spool", "metadata", "name", "size", "source")

    def __init__(
        self,
        name: str,
        data: bytes | None = None,
        source: str = "upload",
        metadata: dict[str, Any] | None = None,
        *,
        spool: IO[bytes] | None = None,
    ) -> None:
        if (data is None) == (spool is None):
            raise ValueError("give exactly one of data or spool")
        self.name = name
        self.source = source
        self.metadata: dict[str, Any] = metadata if metadata is not None else {}
        self._data = data
        self._spool = spool
        if spool is not None:
            self.size = spool.seek(0, io.SEEK_END)
        else:
            self.size = len(data or b"")

    @property
    def data(self) -> bytes:
        """The file's bytes (read from the spool each time: keep them only while needed)."""
        if self._data is not None:
            return self._data
        assert self._spool is not None
        self._spool.seek(0)
        return self._spool.read()

    def rewound(self) -> IO[bytes]:
        """The file as a binary file positioned at its start (the spool, or the bytes)."""
        handle = self._spool if self._spool is not None else io.BytesIO(self._data or b"")
        handle.seek(0)
        return handle

    def sha256(self) -> str:
        """The sha256 of the file, read a piece at a time (call it in a worker thread)."""
        digest, handle = hashlib.sha256(), self.rewound()
        while piece := handle.read(READ_BYTES):
            digest.update(piece)
        return digest.hexdigest()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes a piece at a time, each read in a worker thread."""
        handle = self.rewound()
        while piece := await asyncio.to_thread(handle.read, READ_BYTES):
            yield piece

    def close(self) -> None:
        """Drop the spool (its temporary file, if any)."""
        if self._spool is not None:
            self._spool.close()

    def __del__(self) -> None:
        # a caller that forgot close() still frees the temporary file, without a warning
        self.close()

    def __enter__(self) -> IncomingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _too_large(what: str, limits: UploadLimits) -> DocumentTooLarge:
    return DocumentTooLarge(
        f"{what} is larger than the limit of {limits.max_bytes} bytes "
        "(REPORUNNER_MAX_UPLOAD_BYTES); split it or raise the limit",
        limit=limits.max_bytes,
    )


def _invalid(pointer: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, problems=[Problem(pointer, "invalid_upload", message)])


def _text_name(text: str) -> str:
    return f"text-{hashlib.sha256(text.encode()).hexdigest()[:12]}.txt"


def _url_name(url: str) -> str:
    parts = urlsplit(url)
    last = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return last or parts.hostname or "document"


async def fetch_url(
    url: str, limits: UploadLimits, client: httpx.AsyncClient | None = None
) -> IO[bytes]:
    """GET ``url`` through the SSRF guard into a spool (at most ``limits.max_bytes``; memory up
    to :data:`SPOOL_IN_MEMORY`, a temporary file beyond). The caller closes it.

    Raises:
        SSRFBlockedError: the URL points at a private, loopback or metadata address.
        DocumentTooLarge: the body exceeds the limit.
        UrlFetchFailed: network error or a non-2xx status.
    """
    own = client is None
    http = client or guarded_client(timeout=30.0, follow_redirects=True)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        async with http.stream("GET", url) as response:
            if not response.is_success:
                raise UrlFetchFailed(
                    f"fetching {url} answered HTTP {response.status_code}; check the URL"
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise _too_large(f"the document at {url}", limits)
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:
                    raise _too_large(f"the document at {url}", limits)
                spool.write(chunk)
            return spool
    except BaseException as err:
        spool.close()
        if isinstance(err, httpx.HTTPError):
            raise UrlFetchFailed(f"could not fetch {url}: {err}; check the URL") from err
        raise
    finally:
        if own:
            await http.aclose()


async def _from_source(
    source: DocumentSourceIn, limits: UploadLimits, client: httpx.AsyncClient | None
) -> IncomingFile:
    if (source.url is None) == (source.text is None):
        raise _invalid("", "give exactly one of 'url' or 'text' (or upload files as multipart)")
    if source.url is not None:
        if urlsplit(source.url).scheme not in ("http", "https"):
            raise _invalid("/url", "the URL must start with http:// or https://")
        spool = await fetch_url(source.url, limits, client)
        name = source.name or _url_name(source.url)
        return IncomingFile(name, source="url", metadata=source.metadata, spool=spool)
    text = source.text or ""
    data = text.encode("utf-8")
    if len(data) > limits.max_bytes:
        raise _too_large("the text", limits)
    return IncomingFile(source.name or _text_name(text), data, "text", source.metadata)


async def files_from_json(
    body: bytes, limits: UploadLimits, client: httpx.AsyncClient | None = None
) -> list[IncomingFile]:
    """A JSON body ``{url | text, name?, metadata?}`` as one file.

    Raises:
        ValidationFailed: malformed body.
    """
    try:
        source = DocumentSourceIn.model_validate_json(body or b"{}")
    except ValidationError as err:
        problems = [
            Problem("/" + "/".join(map(str, e["loc"])), e["type"], e["msg"]) for e in err.errors()
        ]
        raise ValidationFailed(
            "the body must be JSON {url | text, name?, metadata?}: "
            + "; ".join(f"{p.pointer}: {p.message}" for p in problems),
            problems=problems,
        ) from None
    return [await _from_source(source, limits, client)]


async def read_json_body(stream: AsyncIterator[bytes], limits: UploadLimits) -> bytes:
    """A JSON upload body, read with a cap (twice the file limit: JSON escaping inflates text).

    Raises:
        DocumentTooLarge: the body exceeds the cap.
    """
    cap = 2 * limits.max_bytes + 64 * 1024
    body = bytearray()
    async for chunk in stream:
        body.extend(chunk)
        if len(body) > cap:
            raise _too_large("the JSON body", limits)
    return bytes(body)


def _metadata_field(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as err:
        raise _invalid("/metadata", f"'metadata' must be a JSON object: {err}") from None
    if not isinstance(value, dict):
        raise _invalid("/metadata", "'metadata' must be a JSON object")
    return value


class _MultipartCollector:
    """Accumulates the parts of a multipart body, enforcing the limits part by part."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.files: list[tuple[str, IO[bytes]]] = []
        self.fields: dict[str, str] = {}
        self._current: MultipartSegment | None = None
        self._buffer = bytearray()
        self._spool: IO[bytes] | None = None
        self._size = 0

    def start(self, segment: MultipartSegment) -> None:
        self._current, self._buffer, self._size = segment, bytearray(), 0
        if segment.filename is not None:
            if len(self.files) >= self.limits.max_files:
                raise _invalid(
                    "/files",
                    f"at most {self.limits.max_files} files per upload "
                    "(REPORUNNER_MAX_UPLOAD_FILES); send the rest in another one",
                )
            self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

    def data(self, chunk: bytes) -> None:
        segment = self._current
        if segment is None:
            return
        self._size += len(chunk)
        limit = self.limits.max_bytes if segment.filename is not None else 1 << 20
        if self._size > limit:
            raise _too_large(f"'{segment.filename or segment.name}'", self.limits)
        if self._spool is not None:
            self._spool.write(chunk)
        else:
            self._buffer.extend(chunk)

    def end(self) -> None:
        segment, self._current = self._current, None
        spool, self._spool = self._spool, None
        if segment is None:
            return
        if spool is not None:
            self.files.append((segment.filename or "document", spool))
        elif segment.name in _FIELDS:
            self.fields[segment.name] = self._buffer.decode("utf-8", "replace")

    def close(self) -> None:
        """Drop every spool (on an error, or once the files are handed over)."""
        for _name, spool in self.files:
            spool.close()
        if self._spool is not None:
            self._spool.close()


async def files_from_multipart(
    stream: AsyncIterator[bytes],
    boundary: str,
    limits: UploadLimits,
    client: httpx.AsyncClient | None = None,
) -> list[IncomingFile]:
    """Parse a multipart body as it streams in: every part with a filename is a file; the
    fields ``url``, ``text``, ``name`` and ``metadata`` (a JSON object for every file) are
    also understood.

    Raises:
        DocumentTooLarge: a file over the per-file limit.
        ValidationFailed: too many files, no file, a malformed body or field.
    """
    parts = _MultipartCollector(limits)
    try:
        with PushMultipartParser(boundary, max_segment_count=limits.max_files + 8) as parser:
            async for chunk in stream:
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        parts.start(event)
                    elif event is None:
                        parts.end()
                    else:
                        parts.data(event)
        fields = parts.fields
        metadata = _metadata_field(fields.get("metadata", ""))
        incoming = [
            IncomingFile(name, source="upload", metadata=metadata, spool=spool)
            for name, spool in parts.files
        ]
        if "url" in fields or "text" in fields:
            source = DocumentSourceIn(
                url=fields.get("url"), text=fields.get("text"), name=fields.get("name"),
                metadata=metadata,
            )  # fmt: skip
            incoming.append(await _from_source(source, limits, client))
    except MultipartError as err:
        parts.close()
        raise _invalid("", f"malformed multipart body: {err}") from None
    except BaseException:
        parts.close()
        raise
    if not incoming:
        raise _invalid("/files", "the upload holds no file; send files as multipart parts")
    return incoming
