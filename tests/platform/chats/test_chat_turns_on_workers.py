"""Chat turns run on workers (issue #20): the API queues the turn and relays its events from
Redis, so an API process that goes away mid-turn loses nothing (the client reconnects to another
with ``Last-Event-ID`` and gets the rest), a turn whose worker is SIGKILLed ends with a clear
error instead of hanging, and nobody follows a turn that is not theirs.

Real ``reporunner serve --no-worker`` and ``reporunner worker`` processes on the test's
PostgreSQL and Redis; the scripted LLM answers in them from the test's script server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from chat_procs import (
    free_port,
    process_env,
    scripted_llm_module,
    spawn,
    spawn_api,
    sse_events,
    stop,
)
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sse_testkit import sse
from worker_testkit import ThreadWorker

from reporunner.agents.testing import Hang, Stream, tool_call
from reporunner.platform.api.app import create_app
from reporunner.platform.chats import (
    ChatCreate,
    MessageIn,
    create_chat,
    process_turn,
    reap_turns,
    run_turn,
    start_turn,
)
from reporunner.platform.chats.turns import TurnWorker, claim_turn
from reporunner.platform.db.models import ChatTurn
from reporunner.platform.db.session import transaction
from reporunner.platform.executions.queue import job_id
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings

AGENT = {
    "model": "scripted/chat",
    "tools": [{"kind": "node", "node_type": "logic.noop", "name": "check"}],
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A queue of the test's own; a reaper that never acts by the clock (a test that needs a
    lost worker moves the turn's heartbeat back instead of waiting)."""
    return settings.model_copy(
        update={
            "queue_name": f"test:turns:{uuid.uuid4().hex}",
            "heartbeat_seconds": 0.5,
            "reap_after_seconds": 600.0,
        }
    )


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    opened = await open_resources(settings)
    yield opened
    await opened.close()


@pytest.fixture
def script() -> Iterator[Any]:
    with scripted_llm_module().ScriptServer(patient=True) as server:
        yield server


async def _chat(resources: Resources, tenant: Any) -> uuid.UUID:
    async with transaction(resources.sessions) as session:
        made = await create_chat(
            session,
            tenant.workspace_id,
            tenant.user_id,
            ChatCreate.model_validate({"agent": AGENT}),
        )
    return made.id


@pytest.mark.timeout(1200)
async def test_a_turn_streams_through_a_worker_and_outlives_its_api_process(
    settings: Settings, resources: Resources, tenant_factory: Any, script: Any, tmp_path: Path
) -> None:
    tenant = await tenant_factory(role="editor")
    chat = await _chat(resources, tenant)
    env = process_env(settings, script.env(), tmp_path / "data")
    ports = (free_port(), free_port())
    worker = await spawn(env, "worker", log=tmp_path / "worker.log")
    apis: list[asyncio.subprocess.Process] = []
    try:
        started = await asyncio.gather(
            *(spawn_api(env, port, tmp_path / f"api{i}.log") for i, port in enumerate(ports)),
            return_exceptions=True,
        )
        apis = [proc for proc in started if isinstance(proc, asyncio.subprocess.Process)]
        for failed in started:
            if isinstance(failed, BaseException):
                raise failed
        one, two = (f"http://127.0.0.1:{port}" for port in ports)
        async with httpx.AsyncClient(headers=tenant.headers, timeout=120) as http:
            # a whole turn: the API queues it, the worker process answers, the API relays
            script.plan(Stream(["Hello ", "there."]))
            whole = await http.post(f"{one}/chats/{chat}/messages", json={"content": "hi"})
            assert whole.status_code == 200, whole.text
            events = sse(whole.text)
            assert [n for n, _ in events] == ["message", "token", "token", "usage", "final"]
            assert events[-1][1]["message"]["content"] == "Hello there."

            # the API process relaying a turn is killed mid-answer
            script.plan(Stream(["Part one. ", tool_call("check", {}, id="c1")]))
            seen = []
            with contextlib.suppress(httpx.HTTPError):  # the connection dies with its process
                async with http.stream(
                    "POST", f"{one}/chats/{chat}/messages", json={"content": "go on"}
                ) as response:
                    assert response.status_code == 200
                    events = sse_events(response)
                    seen.append(await anext(events))
                    # the model's second call of this turn waits for the test: the turn is in
                    # flight on the worker (whatever API 1 relayed of it so far, the client reads)
                    assert await asyncio.to_thread(script.wait_requests, 3)
                    apis[0].kill()
                    await apis[0].wait()
                    script.plan(Stream(["Part two."]))  # the worker goes on alone
                    async for event in events:
                        seen.append(event)
            assert seen[0].event == "message"
            assert all(e.id for e in seen)
            turn_id = seen[0].data["turn_id"]

            # the client reconnects to the other API process where it stopped, and gets the rest
            async with http.stream(
                "GET",
                f"{two}/chats/{chat}/turns/{turn_id}/events",
                headers={"Last-Event-ID": seen[-1].id},
            ) as response:
                assert response.status_code == 200
                rest = [event async for event in sse_events(response)]
            assert rest, "nothing came after the reconnection"
            every = [e.event for e in [*seen, *rest]]
            assert every == [
                "message", "token", "tool_call", "tool_result", "token", "usage", "final"
            ], ([e.data for e in rest], len(script.requests))  # fmt: skip
            assert rest[-1].data["message"]["content"] == "Part two."
            ids = [_order(e.id) for e in [*seen, *rest]]
            assert ids == sorted(set(ids))  # nothing twice, nothing out of order

            history = (await http.get(f"{two}/chats/{chat}/messages")).json()["items"]
            assert [m["content"] for m in history] == ["hi", "Hello there.", "go on", "Part two."]
    finally:
        for proc in [*apis, worker]:
            await stop(proc)


def _order(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@pytest.mark.timeout(300)
async def test_a_turn_whose_worker_is_killed_ends_with_a_clear_error(
    settings: Settings, resources: Resources, tenant_factory: Any, script: Any, tmp_path: Path
) -> None:
    tenant = await tenant_factory(role="editor")
    chat = await _chat(resources, tenant)
    env = process_env(settings, script.env(), tmp_path / "data")
    script.plan(Hang())  # the model never answers: the turn is running when the worker dies
    worker = await spawn(env, "worker", log=tmp_path / "worker.log")
    try:
        turn = await start_turn(resources, tenant.workspace_id, chat, MessageIn(content="hello?"))
        assert await asyncio.to_thread(script.wait_requests, 1, 180)
        worker.kill()  # SIGKILL: nothing of the worker runs any more
        await worker.wait()
    finally:
        await stop(worker)
    with pytest.raises(Exception, match="still answering"):  # still the thread's turn
        await start_turn(resources, tenant.workspace_id, chat, MessageIn(content="again"))

    # any worker's reaper finds its heartbeat stopped (the test moves the clock, not waits)
    async with transaction(resources.sessions) as session:
        await session.execute(
            update(ChatTurn)
            .where(ChatTurn.id == turn.turn_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1))
        )
    # a worker pool on another queue (same database) leaves this queue's turn alone
    other_queue = {"queue_name": f"other:{uuid.uuid4().hex}"}
    other = dataclasses.replace(
        resources, settings=resources.settings.model_copy(update=other_queue)
    )
    assert await reap_turns(other) == []
    assert turn.turn_id in await reap_turns(resources)
    async with asyncio.timeout(60):  # a client following it is told, never left hanging
        events = [event async for event in run_turn(resources, turn)]
    assert [name for name, _ in events] == ["message", "error"]
    assert events[-1][1]["code"] == "chat_turn_lost"
    assert "send the message again" in events[-1][1]["detail"]
    assert await reap_turns(resources) == []  # reaped once

    again = await start_turn(resources, tenant.workspace_id, chat, MessageIn(content="again"))
    assert again.turn_id != turn.turn_id  # the thread is free


async def test_a_turn_whose_job_was_taken_by_a_worker_that_died_before_its_claim_is_queued_again(
    settings: Settings, resources: Resources, tenant_factory: Any
) -> None:
    """A worker took the turn's job (arq's in-progress key lives for the whole job timeout)
    and was SIGKILLed before it claimed the turn: the reaper gives the turn a new job instead
    of waiting for that key to expire (found for executions by tests/platform/test_cluster.py)."""
    tenant = await tenant_factory(role="editor")
    chat = await _chat(resources, tenant)
    turn = await start_turn(resources, tenant.workspace_id, chat, MessageIn(content="hi"))
    dead_job = job_id(turn.turn_id, 0)
    await resources.redis.set(f"arq:in-progress:{dead_job}", b"1", px=3_600_000)
    assert turn.turn_id not in await reap_turns(resources)  # fresh: its worker may yet claim it
    hour = timedelta(hours=1)
    async with transaction(resources.sessions) as session:
        await session.execute(
            update(ChatTurn)
            .where(ChatTurn.id == turn.turn_id)
            .values(created_at=ChatTurn.created_at - hour, heartbeat_at=datetime.now(UTC) - hour)
        )
    assert await reap_turns(resources) == [turn.turn_id]
    assert not await resources.redis.exists(f"arq:in-progress:{dead_job}")
    queued = await resources.redis.zrange(settings.queue_name, 0, -1)
    assert dead_job.encode() not in queued
    assert len(queued) == 1  # the new job
    async with resources.sessions() as session:
        row = await session.get(ChatTurn, turn.turn_id)
        assert row is not None
        assert (row.status, row.worker_id) == ("queued", None)


async def test_nobody_follows_a_turn_that_is_not_theirs(
    settings: Settings, resources: Resources, tenant_factory: Any
) -> None:
    owner, stranger = await tenant_factory(role="editor"), await tenant_factory(role="editor")
    chat, other_chat = await _chat(resources, owner), await _chat(resources, owner)
    turn = await start_turn(resources, owner.workspace_id, chat, MessageIn(content="mine"))
    theirs = await _chat(resources, stranger)
    async with AsyncTestClient(create_app(settings)) as client:
        cases = {
            "a forged turn id": (owner, chat, uuid.uuid4()),
            "a turn of another chat": (owner, other_chat, turn.turn_id),
            "another workspace's key": (stranger, chat, turn.turn_id),
            "another workspace's key, its own chat": (stranger, theirs, turn.turn_id),
        }
        for case, (who, chat_id, turn_id) in cases.items():
            response = await client.get(
                f"/chats/{chat_id}/turns/{turn_id}/events", headers=who.headers
            )
            assert response.status_code == 404, (case, response.text)
            assert "mine" not in response.text
        bad = await client.get(
            f"/chats/{chat}/turns/{turn.turn_id}/events",
            headers={**owner.headers, "Last-Event-ID": "0-0; DROP"},
        )
        assert bad.status_code == 422, bad.text
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert "last-event-id" in bad.text.lower()
        not_an_id = await client.get(f"/chats/{chat}/turns/nope/events", headers=owner.headers)
        assert 400 <= not_an_id.status_code < 500


ECHO_CHAT = {
    "name": "echo chat",
    "nodes": [
        {"id": "chat", "type": "trigger.chat"},
        {
            "id": "echo",
            "type": "data.set",
            "params": {"fields": [{"name": "text", "value": "echo: {{ trigger.message }}"}]},
        },
    ],
    "edges": [{"source": "chat", "target": "echo"}],
}


async def _workflow_chat(settings: Settings, tenant: Any) -> uuid.UUID:
    async with AsyncTestClient(create_app(settings)) as client:
        made = await client.post(
            "/workflows", params={"publish": "true"}, json=ECHO_CHAT, headers=tenant.headers
        )
        assert made.status_code == 201, made.text
        workflow_id = made.json()["workflow"]["id"]
        body = {"workflow_id": workflow_id}
        chat = await client.post("/chats", json=body, headers=tenant.headers)
        assert chat.status_code == 201, chat.text
    return uuid.UUID(chat.json()["id"])


@pytest.mark.timeout(300)
async def test_a_workflow_chat_turn_whose_worker_died_is_picked_up_again(
    settings: Settings, resources: Resources, tenant_factory: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    chat_id = await _workflow_chat(settings, tenant)
    turn = await start_turn(resources, tenant.workspace_id, chat_id, MessageIn(content="ping"))
    # a worker took the turn and died (no worker runs yet: the test plays the dead one)
    assert await claim_turn(resources, turn.turn_id, "dead-worker") is not None
    async with transaction(resources.sessions) as session:
        await session.execute(
            update(ChatTurn)
            .where(ChatTurn.id == turn.turn_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert await reap_turns(resources) == [turn.turn_id]  # queued again, not failed

    with ThreadWorker(settings):
        async with asyncio.timeout(240):
            events = [event async for event in run_turn(resources, turn)]
    assert [name for name, _ in events] == ["message", "execution", "final"]
    assert events[-1][1]["message"]["content"] == "echo: ping"
    async with resources.sessions() as session:
        row = await session.get(ChatTurn, turn.turn_id)
        assert row is not None
        assert (row.status, row.attempts) == ("succeeded", 2)
        assert row.worker_id != "dead-worker"


@pytest.mark.timeout(300)
async def test_a_stopping_worker_hands_a_workflow_chat_turn_back(
    settings: Settings, resources: Resources, tenant_factory: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    chat_id = await _workflow_chat(settings, tenant)
    turn = await start_turn(resources, tenant.workspace_id, chat_id, MessageIn(content="ping"))
    # a worker runs the turn; no worker runs its execution yet, so the turn follows it, waiting
    job = asyncio.create_task(process_turn(resources, turn.turn_id, TurnWorker("stopping")))

    async def following() -> ChatTurn | None:
        async with resources.sessions() as session:
            row = await session.get(ChatTurn, turn.turn_id, populate_existing=True)
            return row if row is not None and row.execution_id is not None else None

    started = await _until(following, "the turn to start its execution")
    job.cancel()  # what arq does to a stopping worker's job once its grace period is over
    with pytest.raises(asyncio.CancelledError):
        await job
    async with resources.sessions() as session:
        row = await session.get(ChatTurn, turn.turn_id, populate_existing=True)
        assert row is not None
        assert (row.status, row.worker_id, row.attempts) == ("queued", None, 0)
        assert row.execution_id == started.execution_id

    # the next worker runs the job again (arq re-queues a cancelled one; here it never left
    # the queue) and follows the same execution: one answer, no error
    with ThreadWorker(settings):
        async with asyncio.timeout(240):
            events = [event async for event in run_turn(resources, turn)]
    assert [name for name, _ in events] == ["message", "execution", "final"]
    assert events[-1][1]["message"]["content"] == "echo: ping"
    assert events[-1][1]["execution_id"] == str(started.execution_id)


async def _until(check: Any, what: str, limit: float = 120) -> Any:
    deadline = asyncio.get_running_loop().time() + limit
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return found
