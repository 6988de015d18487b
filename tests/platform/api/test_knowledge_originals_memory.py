"""A large upload and its download do not grow the API process's memory with the file size:
the file streams into a spool, is sniffed from its head, hashed and stored a piece at a time,
and streams back out of PostgreSQL a chunk at a time.

Measured on a real ``reporunner serve`` process: its peak resident set (``VmHWM``, reset
through ``/proc/<pid>/clear_refs`` after a warm-up) while a 64 MiB document goes in and out.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

MiB = 1024 * 1024
SIZE = 64 * MiB
BOUND = 24 * MiB
"""Most the peak may grow by (measured: see docs/knowledge.md), well under the file size."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _text_file(path: Path, size: int) -> str:
    """A text document of ``size`` bytes; returns its sha256."""
    line = b"Turbine blade inspection log: vibration within limits, seal replaced.\n"
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        written = 0
        while written < size:
            piece = line[: size - written]
            handle.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


def _round_trip(client: httpx.Client, headers: dict[str, str], kb: str, path: Path) -> str:
    """Upload ``path`` and download it again; the sha256 of what came back."""
    with path.open("rb") as handle:
        response = client.post(
            f"/knowledge-bases/{kb}/documents",
            files={"files": (path.name, handle, "text/plain")},
            headers=headers,
        )
    assert response.status_code == 202, response.text
    doc = response.json()["documents"][0]["id"]
    digest = hashlib.sha256()
    url = f"/knowledge-bases/{kb}/documents/{doc}/original"
    with client.stream("GET", url, headers=headers) as download:
        assert download.status_code == 200
        for piece in download.iter_bytes():
            digest.update(piece)
    return digest.hexdigest()


@pytest.mark.timeout(420)
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
async def test_a_large_upload_and_download_keep_the_api_memory_bounded(
    services: Any, tenant_factory: Any, tmp_path: Path
) -> None:
    tenant = await tenant_factory(role="editor")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_DATA_DIR": str(tmp_path / "data"),
        "REPORUNNER_MAX_UPLOAD_BYTES": str(SIZE + MiB),
        "REPORUNNER_QUEUE_NAME": f"test:mem:{port}",  # no worker takes its jobs
        "REPORUNNER_RATE_LIMIT_PER_MINUTE": "0",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "reporunner.platform.cli", "serve", "--port", str(port),
             "--no-worker", "--no-migrate"],
            env=env, stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                assert server.poll() is None, log.read_text()[-2000:]
                try:
                    if client.get("/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "serve did not answer /healthz"
                time.sleep(0.2)
            made = client.post("/knowledge-bases", json={"name": "big"}, headers=tenant.headers)
            kb = made.json()["id"]
            # warm-up: every code path a large file takes (spool, head sniff, chunked store)
            warm = tmp_path / "warm.txt"
            warm_hash = _text_file(warm, 6 * MiB)
            assert _round_trip(client, tenant.headers, kb, warm) == warm_hash
            Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # peak := current
            before = _status(server.pid, "VmRSS")
            big = tmp_path / "big.txt"
            expected = _text_file(big, SIZE)
            assert _round_trip(client, tenant.headers, kb, big) == expected
            growth = _status(server.pid, "VmHWM") - before
    finally:
        server.terminate()
        server.wait(60)
    print(f"peak RSS growth for a {SIZE // MiB} MiB upload + download: {growth / MiB:.1f} MiB")
    assert growth < BOUND, f"the API's peak memory grew by {growth / MiB:.1f} MiB"
