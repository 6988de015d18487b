"""Security test kit: a real ``reporunner serve`` subprocess to attack, and a listener to
catch what leaks out.

``served`` starts one server for the whole session on a free port, with ``DATABASE_URL`` a
fresh clone of the migrated template and ``REDIS_URL`` the session's Redis (its own queue
name, so the suite's other workers never take its jobs). Its limits are small (set in
:data:`SERVED_ENV`) so hostile inputs are refused fast.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.session import create_engine, session_factory

REPORUNNER = str(Path(sys.executable).parent / "reporunner")
SERVER_OPENAI_KEY = "sk-server-secret-" + "s" * 24
"""The server's own provider key: it must never reach a host a user chose."""

SERVED_ENV = {
    "OPENAI_API_KEY": SERVER_OPENAI_KEY,
    "REPORUNNER_MAX_UPLOAD_BYTES": str(64 * 1024),
    "REPORUNNER_MAX_UPLOAD_FILES": "3",
    "REPORUNNER_MAX_DOCUMENT_CHARS": "20000",
    "REPORUNNER_MAX_DOCUMENT_CHUNKS": "40",
    "REPORUNNER_MAX_BASE_CHUNKS": "200",
    "REPORUNNER_RATE_LIMIT_PER_MINUTE": "0",
    "REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_subprocess(
    env_extra: Mapping[str, str], data_dir: Path, *args: str, ready_seconds: float = 180
) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """Run ``reporunner serve`` on a free port with :data:`SERVED_ENV` and ``env_extra`` (no
    inherited ``REPORUNNER_*``), wait until it answers ``/readyz`` and a worker joined its
    queue; yield the process, its base URL and its log. Stopped (SIGTERM, then SIGKILL) after.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORUNNER_")}
    env.update(SERVED_ENV)
    env.update(
        REPORUNNER_DATA_DIR=str(data_dir),
        REPORUNNER_LOG_FORMAT="text",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    env.update(env_extra)
    log = data_dir / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [REPORUNNER, "serve", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_seconds
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not get ready: " + log.read_text()
            time.sleep(0.2)
        # /readyz is the API; runs need a worker that has joined the queue
        deadline = time.monotonic() + ready_seconds
        while "worker started for" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no worker joined the queue: " + log.read_text()
            time.sleep(0.2)
        yield proc, base, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Served:
    """A running ``reporunner serve``: its base URL, the owner's key, and its database."""

    base: str
    port: int
    token: str
    database_url: str
    log: Path
    proc: subprocess.Popen[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def key_for(self, role: str) -> str:
        """A new workspace whose only member has ``role``; that member's API key."""
        engine = create_engine(self.database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session, session.begin():
                slug = f"sec-{uuid.uuid4().hex[:10]}"
                _ws, _user, key = await create_workspace_with_owner(
                    session, slug=slug, email=f"{slug}@example.test", role=role
                )
            return key.plaintext
        finally:
            await engine.dispose()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Listener:
    """A TCP listener on 127.0.0.1 that records every request it gets (what an attacker runs
    to catch leaked secrets) and answers like an OpenAI-compatible server."""

    port: int
    received: list[bytes] = field(default_factory=list)
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def run_node_served(base: str, headers: dict[str, str], node: dict[str, Any]) -> dict[str, Any]:
    """Create a workflow ``manual trigger -> node`` on a served instance, run it, and answer
    the execution once it has ended (poll with a deadline)."""
    definition = {
        "name": f"probe-{uuid.uuid4().hex[:6]}",
        "nodes": [{"id": "start", "type": "trigger.manual"}, node],
        "edges": [{"source": "start", "target": node["id"]}],
    }
    made = httpx.post(f"{base}/workflows", json=definition, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    wf = made.json()["workflow"]["id"]
    run = httpx.post(f"{base}/workflows/{wf}/executions", json={}, headers=headers, timeout=30)
    assert run.status_code in (200, 201, 202), run.text
    deadline = time.monotonic() + 90
    while True:
        body = httpx.get(f"{base}/executions/{run.json()['id']}", headers=headers, timeout=60)
        found = dict(body.json())
        if found["status"] not in ("queued", "running"):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
