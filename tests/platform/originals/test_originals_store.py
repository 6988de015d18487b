"""The store of originals, one suite over both back ends: the session's real PostgreSQL and a
real S3 server (moto's, on a local port).

Each back end must stream (pieces of at most 1 MiB come out; S3 writes go through a multipart
upload), keep nothing of a refused write, and never read, list or delete across workspaces.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from s3_testkit import KEY_ID, REGION, SECRET, S3Bucket

from reporunner.knowledge import KnowledgeStore
from reporunner.platform.db.session import create_engine
from reporunner.platform.originals import (
    CHUNK_BYTES,
    OriginalMissing,
    OriginalStore,
    PostgresOriginals,
    S3Originals,
    original_path,
    read_all,
)

PART = 5 * 1024 * 1024


@dataclass
class Backend:
    store: OriginalStore
    knowledge: KnowledgeStore
    bucket: S3Bucket | None

    async def base(self, workspace_id: uuid.UUID) -> uuid.UUID:
        made = await self.knowledge.create_base(
            workspace_id, f"kb-{uuid.uuid4().hex[:8]}", embedding_model="m", embedding_dim=384
        )
        return made.id


@pytest.fixture(params=["postgres", "s3"])
async def backend(request: pytest.FixtureRequest, services) -> AsyncIterator[Backend]:
    engine = create_engine(services.database_url, pool_size=4)
    bucket: S3Bucket | None = None
    store: OriginalStore
    if request.param == "postgres":
        store = PostgresOriginals(engine)
    else:
        bucket = request.getfixturevalue("s3_bucket")
        store = S3Originals.connect(
            bucket.bucket,
            endpoint_url=bucket.endpoint_url,
            region=REGION,
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            part_bytes=PART,
        )
    try:
        yield Backend(store, KnowledgeStore(engine), bucket)
    finally:
        await store.close()
        await engine.dispose()


def _payload(size: int) -> bytes:
    return os.urandom(size)


async def _pieces(data: bytes, sizes: Iterator[int]) -> AsyncIterator[bytes]:
    """``data`` in pieces of uneven sizes, as a network stream hands them over."""
    at = 0
    while at < len(data):
        step = next(sizes)
        yield data[at : at + step]
        at += step


def _uneven() -> Iterator[int]:
    while True:
        yield from (65_536, 1_000_003, 7, 3 * 1024 * 1024 + 1)


async def _never() -> AsyncIterator[bytes]:
    raise AssertionError("an original already stored must not be read again")
    yield b""  # pragma: no cover


async def test_a_large_original_streams_in_and_out_in_pieces(backend: Backend) -> None:
    ws = uuid.uuid4()
    base = await backend.base(ws)
    data = _payload(2 * PART + 123_457)  # three S3 parts, twelve PostgreSQL chunks
    digest = hashlib.sha256(data).hexdigest()
    path = original_path(ws, base, digest, "big.bin")
    existed = await backend.store.put(ws, base, path, _pieces(data, _uneven()), sha256=digest)
    assert existed is False
    stat = await backend.store.stat(ws, path)
    assert (stat.size, stat.sha256) == (len(data), digest)
    pieces = [piece async for piece in backend.store.read(ws, path)]
    assert max(len(p) for p in pieces) <= CHUNK_BYTES
    assert len(pieces) >= len(data) // CHUNK_BYTES
    assert b"".join(pieces) == data
    # the same content again: a no-op that does not even read the stream
    assert await backend.store.put(ws, base, path, _never(), sha256=digest) is True
    if backend.bucket is not None:
        assert backend.bucket.keys() == [path]
        assert backend.bucket.open_uploads() == 0


async def test_a_small_original_and_an_empty_one(backend: Backend) -> None:
    ws = uuid.uuid4()
    base = await backend.base(ws)
    for data in (b"hello", b""):
        digest = hashlib.sha256(data).hexdigest()
        path = original_path(ws, base, digest, "small.txt")
        await backend.store.put(ws, base, path, _pieces(data, _uneven()), sha256=digest)
        assert await read_all(backend.store, ws, path) == data
        assert (await backend.store.stat(ws, path)).size == len(data)


async def test_bytes_that_do_not_match_their_hash_leave_nothing(backend: Backend) -> None:
    ws = uuid.uuid4()
    base = await backend.base(ws)
    for size in (1000, 2 * PART + 1):  # one request, and a multipart upload
        claimed = hashlib.sha256(b"what the client said").hexdigest()
        path = original_path(ws, base, claimed, "x.bin")
        with pytest.raises(ValueError, match="hash"):
            await backend.store.put(
                ws, base, path, _pieces(_payload(size), _uneven()), sha256=claimed
            )
        with pytest.raises(OriginalMissing):
            await backend.store.stat(ws, path)
        if backend.bucket is not None:
            assert backend.bucket.keys() == []
            assert backend.bucket.open_uploads() == 0  # the multipart upload was aborted
    other = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(ValueError, match="other content"):  # a path must name its content
        await backend.store.put(
            ws, base, original_path(ws, base, other, "y"), _pieces(b"z", _uneven()), sha256=claimed
        )


async def test_another_workspace_never_reads_lists_or_deletes_an_original(
    backend: Backend,
) -> None:
    owner, intruder = uuid.uuid4(), uuid.uuid4()
    base = await backend.base(owner)
    data = b"confidential"
    digest = hashlib.sha256(data).hexdigest()
    path = original_path(owner, base, digest, "secret.txt")
    await backend.store.put(owner, base, path, _pieces(data, _uneven()), sha256=digest)
    with pytest.raises(OriginalMissing):
        await backend.store.stat(intruder, path)
    with pytest.raises(OriginalMissing):
        await read_all(backend.store, intruder, path)
    with pytest.raises(OriginalMissing):
        await backend.store.delete(intruder, path)
    # the intruder's own path forms name nothing of the owner's
    forged = path.replace(str(owner), str(intruder), 1)
    with pytest.raises(OriginalMissing):
        await read_all(backend.store, intruder, forged)
    await backend.store.delete_base(intruder, base)
    await backend.store.delete_workspace(intruder)
    assert await read_all(backend.store, owner, path) == data


async def test_deleting_an_original_a_base_and_a_workspace(backend: Backend) -> None:
    ws, other = uuid.uuid4(), uuid.uuid4()
    base_a, base_b = await backend.base(ws), await backend.base(ws)
    base_c = await backend.base(other)
    stored = {}
    for owner, base in ((ws, base_a), (ws, base_a), (ws, base_b), (other, base_c)):
        data = _payload(100)
        digest = hashlib.sha256(data).hexdigest()
        path = original_path(owner, base, digest, "f.bin")
        await backend.store.put(owner, base, path, _pieces(data, _uneven()), sha256=digest)
        stored[path] = owner
    first, second, third, kept = stored
    await backend.store.delete(ws, first)
    await backend.store.delete(ws, first)  # gone already: fine
    with pytest.raises(OriginalMissing):
        await backend.store.stat(ws, first)
    await backend.store.delete_base(ws, base_a)
    with pytest.raises(OriginalMissing):
        await backend.store.stat(ws, second)
    assert (await backend.store.stat(ws, third)).size == 100
    await backend.store.delete_workspace(ws)
    with pytest.raises(OriginalMissing):
        await backend.store.stat(ws, third)
    assert (await backend.store.stat(other, kept)).size == 100
    if backend.bucket is not None:
        assert backend.bucket.keys() == [kept]
