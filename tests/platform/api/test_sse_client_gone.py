"""A Server-Sent Events client that goes away mid-stream leaves nothing behind: the stream's
generator is closed at once and its clean-up runs to the end although the request is being
cancelled — its Redis subscription ends — instead of being left to the garbage collector (which
warned about unclosed Redis connections). A chat turn is answered on a worker: the client
hanging up ends only the relay, the turn goes on and frees its thread when it is written."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import uvicorn
from redis.asyncio import Redis
from worker_testkit import ThreadWorker

from reporunner.agents.testing import Reply, ScriptedRequest, scripted_llm
from reporunner.platform.api.app import create_app
from reporunner.platform.knowledge import kb_channel
from reporunner.platform.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _served(settings: Settings) -> AsyncIterator[str]:
    """The app on a real local HTTP server (the test client cannot hang up mid-stream)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done(), "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _until(check: Callable[[], Awaitable[bool]], what: str, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_knowledge_events_client_that_hangs_up_ends_its_subscription(
    settings: Settings, tenant_factory
) -> None:
    tenant = await tenant_factory(role="editor")
    redis = Redis.from_url(str(settings.redis_url))
    try:
        async with (
            _served(settings) as base,
            httpx.AsyncClient(base_url=base, headers=tenant.headers, timeout=30) as http,
        ):
            created = await http.post("/knowledge-bases", json={"name": "followed"})
            assert created.status_code == 201, created.text
            kb_id = created.json()["id"]
            channel = kb_channel(kb_id)

            async def subscribers() -> int:
                [(_, count)] = await redis.pubsub_numsub(channel)
                return int(count)

            async def subscribed() -> bool:
                return await subscribers() == 1

            async def gone() -> bool:
                return await subscribers() == 0

            # an endless stream (no until_settled): only the client ends it
            async with http.stream("GET", f"/knowledge-bases/{kb_id}/events") as response:
                assert response.status_code == 200
                await _until(subscribed, "the stream to subscribe")
            # the client hung up while the stream waited for the next event
            await _until(gone, "the subscription to end")
    finally:
        await redis.aclose()


async def test_a_chat_client_that_hangs_up_mid_answer_leaves_the_turn_to_its_worker(
    settings: Settings, tenant_factory
) -> None:
    tenant = await tenant_factory(role="editor")
    settings = settings.model_copy(update={"queue_name": f"test:gone:{uuid.uuid4().hex}"})
    gate = threading.Event()

    def thinking(_request: ScriptedRequest) -> Reply:
        assert gate.wait(60), "never released"  # still thinking when the user closes the tab
        return Reply("answered anyway")

    with scripted_llm() as llm, ThreadWorker(settings):
        llm.plan(thinking)
        async with (
            _served(settings) as base,
            httpx.AsyncClient(base_url=base, headers=tenant.headers, timeout=30) as http,
        ):
            created = await http.post("/chats", json={"agent": {"model": "scripted/chat"}})
            assert created.status_code == 201, created.text
            chat_id = created.json()["id"]
            async with http.stream(
                "POST", f"/chats/{chat_id}/messages", json={"content": "hello?"}
            ) as response:
                assert response.status_code == 200
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        assert line.split(":", 1)[1].strip() == "message"
                        break
            gate.set()

            async def written() -> bool:
                page = (await http.get(f"/chats/{chat_id}/messages")).json()["items"]
                return [m["content"] for m in page] == ["hello?", "answered anyway"]

            await _until(written, "the worker to store the answer", limit=60)
            llm.plan(Reply("and again"))
            again = await http.post(f"/chats/{chat_id}/messages", json={"content": "more"})
            assert again.status_code == 200, again.text  # the thread is free
            assert "and again" in again.text
