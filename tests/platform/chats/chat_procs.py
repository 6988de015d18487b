"""Real ``reporunner serve --no-worker`` and ``reporunner worker`` processes for the chat turn
tests, answering from a test's script server (``tests/web/scripted_llm.py``), and an SSE reader
that hands over events one at a time (with their ids)."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from reporunner.platform.settings import Settings

WEB_TESTS = Path(__file__).resolve().parents[2] / "web"
SECRET_KEY = base64.b64encode(b"k" * 32).decode()
"""One master key for every process of a test (as a deployment shares one)."""


def scripted_llm_module() -> ModuleType:
    """``tests/web/scripted_llm.py`` (its :class:`ScriptServer` plans the served processes)."""
    spec = importlib.util.spec_from_file_location("scripted_llm", WEB_TESTS / "scripted_llm.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("scripted_llm", module)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(settings: Settings, script_env: dict[str, str], data_dir: Path) -> dict[str, str]:
    """The environment of a served process: the test's services and queue, the script server."""
    inherited = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        **script_env,
        "PYTHONPATH": os.pathsep.join(
            [script_env["PYTHONPATH"], *([inherited] if inherited else [])]
        ),
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "REPORUNNER_QUEUE_NAME": settings.queue_name,
        "REPORUNNER_SECRET_KEY": SECRET_KEY,
        "REPORUNNER_DATA_DIR": str(data_dir),
        "REPORUNNER_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
        "REPORUNNER_REAP_AFTER_SECONDS": str(settings.reap_after_seconds),
        "REPORUNNER_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


async def spawn(env: dict[str, str], *args: str, log: Path) -> asyncio.subprocess.Process:
    """``reporunner ARGS`` with its output in ``log``."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "reporunner.platform.cli", *args,
            env=env, stdout=out, stderr=out,
        )  # fmt: skip


async def spawn_api(env: dict[str, str], port: int, log: Path) -> asyncio.subprocess.Process:
    """An API process without workers (``serve --no-worker``), once it answers ``/healthz``."""
    proc = await spawn(
        env, "serve", "--no-worker", "--no-migrate", "--host", "127.0.0.1", "--port", str(port),
        log=log,
    )  # fmt: skip
    deadline = time.monotonic() + 400  # a hang guard: start-up took 150 s+ at load 20
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                assert proc.returncode is None, f"the API exited:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"the API did not start:\n{log.read_text()}"
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        return proc
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
    except BaseException:  # never leave a process behind (the caller has no handle on it yet)
        await stop(proc)
        raise


async def stop(proc: asyncio.subprocess.Process) -> None:
    """End a process this test started (SIGKILL if it does not leave on SIGTERM)."""
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()


@dataclass(frozen=True, slots=True)
class SseEvent:
    id: str
    event: str
    data: dict[str, Any]


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """The events of a streamed Server-Sent Events response, one at a time."""
    ident, name, data = "", "message", []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield SseEvent(ident, name, json.loads("\n".join(data)))
            ident, name, data = "", "message", []
        elif line.startswith("id:"):
            ident = line[3:].strip()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
