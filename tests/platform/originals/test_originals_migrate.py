"""``reporunner migrate`` moves the originals an earlier version kept on the data directory into
the configured store: verified by size and hash before the file goes, idempotent, with progress;
a file that does not match its hash stays where it is."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from reporunner.knowledge import KnowledgeStore
from reporunner.platform.db.session import create_engine
from reporunner.platform.originals import (
    OriginalMissing,
    PostgresOriginals,
    local_root,
    move_local_originals,
    original_path,
    read_all,
)


@pytest.fixture
async def knowledge(services) -> AsyncIterator[KnowledgeStore]:
    engine = create_engine(services.database_url, pool_size=4)
    yield KnowledgeStore(engine)
    await engine.dispose()


async def _legacy_document(
    store: KnowledgeStore, data_dir: Path, ws: uuid.UUID, base: uuid.UUID, name: str, data: bytes
) -> str:
    """A document as an earlier version stored it: its row, and its file on the disk."""
    digest = hashlib.sha256(data).hexdigest()
    path = original_path(ws, base, digest, name)
    await store.add_document(
        ws, base, name, content_hash=digest, size_bytes=len(data), storage_path=path
    )
    local = local_root(data_dir) / path
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    return path


async def test_migrate_moves_local_originals_into_the_store_once(
    knowledge: KnowledgeStore, services, tmp_path: Path
) -> None:
    ws = uuid.uuid4()
    base = (await knowledge.create_base(ws, "legacy", embedding_model="m", embedding_dim=384)).id
    files = {"a.txt": b"first original", "b.pdf": os.urandom(3 * 1024 * 1024 + 5)}
    paths = {
        name: await _legacy_document(knowledge, tmp_path, ws, base, name, data)
        for name, data in files.items()
    }
    # a file changed on disk since it was stored: it no longer matches its hash
    tampered = await _legacy_document(knowledge, tmp_path, ws, base, "c.txt", b"as uploaded")
    (local_root(tmp_path) / tampered).write_bytes(b"changed later")

    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_DATA_DIR": str(tmp_path),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reporunner.platform.cli", "migrate", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    stdout, stderr = out.decode(), err.decode()
    assert proc.returncode == 1, (stdout, stderr)  # one file was left in place
    assert "[3/3]" in stdout  # progress, file by file
    assert "moved 2 of 3 original(s)" in stdout
    assert f"left in place: {tampered}: the file hashes to" in stderr

    store = PostgresOriginals(knowledge.engine)
    for name, data in files.items():
        assert await read_all(store, ws, paths[name]) == data
        assert not (local_root(tmp_path) / paths[name]).exists()
    assert (local_root(tmp_path) / tampered).read_bytes() == b"changed later"
    with pytest.raises(OriginalMissing):
        await store.stat(ws, tampered)

    # again: nothing left to move but the tampered file, which still stays
    seen: list[tuple[int, int, str]] = []
    report = await move_local_originals(
        knowledge.engine, store, tmp_path, lambda *step: seen.append(step)
    )
    assert (report.moved, report.total) == (0, 1)
    assert seen == [(1, 1, tampered)]
    assert len(report.failed) == 1


async def test_migrate_keeps_the_file_when_the_store_already_holds_other_bytes(
    knowledge: KnowledgeStore, tmp_path: Path
) -> None:
    """A copy is verified before the file goes: a stored original of another size under the
    same path (a broken earlier copy) keeps the local file."""
    ws = uuid.uuid4()
    base = (await knowledge.create_base(ws, "legacy", embedding_model="m", embedding_dim=384)).id
    path = await _legacy_document(knowledge, tmp_path, ws, base, "a.txt", b"the real bytes")
    store = PostgresOriginals(knowledge.engine)
    digest = path.split("/")[2]

    async def broken() -> AsyncIterator[bytes]:
        yield b"the real bytes"

    await store.put(ws, base, path, broken(), sha256=digest)
    async with knowledge.engine.begin() as conn:  # damage the stored copy
        await conn.execute(
            text("UPDATE original_blobs SET size_bytes = 3 WHERE workspace_id = :ws"), {"ws": ws}
        )
    report = await move_local_originals(knowledge.engine, store, tmp_path)
    assert report.moved == 0
    assert "the file is kept" in report.failed[0]
    assert (local_root(tmp_path) / path).read_bytes() == b"the real bytes"
