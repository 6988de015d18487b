"""Security test kit: a real ``reporunner serve`` subprocess to attack, and a listener to
catch what leaks out.

``served`` starts one server for the whole session on a free port, with ``DATABASE_URL`` a
fresh clone of the migrated template and ``REDIS_URL`` the session's Redis (its own queue
name, so the suite's other workers never take its jobs). Its limits are small (set in
:data:`SERVED_ENV`) so hostile inputs are refused fast.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

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
