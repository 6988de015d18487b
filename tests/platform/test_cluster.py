"""Past one machine (issue #20): a cluster of two API processes and three worker processes on
one PostgreSQL and one Redis, each process with a data directory of its own (no shared disk),
under load, with one worker and one API process SIGKILLed in the middle of it.

The load: 2,000 webhook executions (each answered by the workflow's ``webhook.respond`` node,
so an answer crosses from a worker to the API through Redis) and 50 document uploads, spread
over both APIs. A request the killed API dropped is sent again to the other one with the same
``Idempotency-Key``. Afterwards every execution has ended (none lost, none duplicated, none
left ``running``), every document is ``ready``, the chat turn that was in flight on the killed
worker ended with a clear error while a new one is answered, and a document uploaded through
the dead API downloads through the other one.

The processes run with a 1 s heartbeat and a 15 s reaper cut-off, so recovery from the
SIGKILLs takes seconds; nothing is asserted about how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from chats.chat_procs import (
    free_port,
    process_env,
    scripted_llm_module,
    spawn,
    spawn_api,
    sse_events,
)
from chats.chat_procs import stop as stop_process
from sqlalchemy import func, select
from sse_testkit import sse

from reporunner.agents.testing import Hang, Reply
from reporunner.platform.db.models import ChatTurn
from reporunner.platform.db.models.workflows import Execution
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings

EXECUTIONS = 2000
UPLOADS = 50
CONCURRENCY = 16
KILL_AFTER = 500
"""Answered webhook requests before one worker and one API process are SIGKILLed."""
WAIT_LIMIT = 600.0
"""A hang guard for each wait (polling for a condition, never a timing assertion)."""

HOOK = {
    "name": "cluster hook",
    "nodes": [
        {
            "id": "hook",
            "type": "trigger.webhook",
            "params": {"path": "cluster", "method": "POST", "response_mode": "respond_node"},
        },
        {"id": "answer", "type": "webhook.respond", "params": {"respond_with": "first_item"}},
    ],
    "edges": [{"source": "hook", "target": "answer"}],
}
AGENT = {"agent": {"model": "scripted/chat"}}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The cluster's own queue (other tests share the database and Redis); a quick heartbeat
    and reaper, so the dead worker's work is found within seconds."""
    return settings.model_copy(
        update={
            "queue_name": f"test:cluster:{uuid.uuid4().hex}",
            "heartbeat_seconds": 1.0,
            "reap_after_seconds": 15.0,
        }
    )


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    opened = await open_resources(settings)
    yield opened
    await opened.redis.delete(settings.queue_name)
    await opened.close()


@pytest.fixture
def script() -> Iterator[Any]:
    with scripted_llm_module().ScriptServer() as server:
        yield server


@dataclass
class Cluster:
    """The processes, and which API processes still take requests."""

    env: dict[str, str]
    tmp: Path
    apis: list[asyncio.subprocess.Process] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    workers: list[asyncio.subprocess.Process] = field(default_factory=list)
    dead_apis: set[int] = field(default_factory=set)

    def process_env(self, name: str) -> dict[str, str]:
        return {**self.env, "REPORUNNER_DATA_DIR": str(self.tmp / f"data-{name}")}

    async def start_worker(self) -> None:
        name = f"worker{len(self.workers) + 1}"
        log = self.tmp / f"{name}.log"
        self.workers.append(await spawn(self.process_env(name), "worker", log=log))

    async def start_apis(self, count: int) -> None:
        ports = [free_port() for _ in range(count)]
        started = await asyncio.gather(
            *(
                spawn_api(self.process_env(f"api{i + 1}"), port, self.tmp / f"api{i + 1}.log")
                for i, port in enumerate(ports)
            ),
            return_exceptions=True,
        )
        self.apis = [p for p in started if isinstance(p, asyncio.subprocess.Process)]
        for failed in started:
            if isinstance(failed, BaseException):
                raise failed
        self.urls = [f"http://127.0.0.1:{port}" for port in ports]

    def url(self, preferred: int) -> tuple[int, str]:
        """The preferred API if it is alive, else the other one."""
        index = preferred if preferred not in self.dead_apis else 1 - preferred
        return index, self.urls[index]

    async def stop(self) -> None:
        for proc in [*self.apis, *self.workers]:
            await stop_process(proc)

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(self.tmp.glob("*.log"))
        )


@dataclass
class Outcomes:
    """What the clients saw."""

    answered: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    resent: int = 0
    wrong: list[str] = field(default_factory=list)
    uploaded: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Document name → (the API that accepted it, its id)."""
    upload_resent: int = 0


async def _send_hook(
    cluster: Cluster, http: httpx.AsyncClient, slug: str, n: int, out: Outcomes
) -> None:
    """POST one webhook delivery; a transport failure (the API died) goes to the other API with
    the same Idempotency-Key."""
    key = f"cluster-{n}"
    preferred = n % 2
    for attempt in range(10):
        _, url = cluster.url(preferred)
        try:
            response = await http.post(
                f"{url}/hooks/{slug}/cluster", json={"n": n}, headers={"Idempotency-Key": key}
            )
        except httpx.TransportError:
            out.resent += 1
            preferred = 1 - preferred
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        out.statuses[response.status_code] += 1
        if response.status_code == 200:
            out.answered += 1
            if response.json().get("body") != {"n": n}:
                out.wrong.append(f"{key}: {response.text[:200]}")
        elif response.status_code != 504:  # 504: accepted, not answered in time (keeps running)
            out.wrong.append(f"{key}: {response.status_code} {response.text[:300]}")
        return
    out.wrong.append(f"{key}: no API took it")


async def _upload(
    cluster: Cluster,
    http: httpx.AsyncClient,
    kb: str,
    n: int,
    headers: dict[str, str],
    out: Outcomes,
) -> None:
    name = f"note-{n:02d}.md"
    data = _document(n)
    preferred = n % 2
    for attempt in range(10):
        index, url = cluster.url(preferred)
        try:
            response = await http.post(
                f"{url}/knowledge-bases/{kb}/documents",
                files=[("files", (name, data, "text/markdown"))],
                headers=headers,
            )
        except httpx.TransportError:
            out.upload_resent += 1
            preferred = 1 - preferred
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        if response.status_code != 202:
            out.wrong.append(f"upload {name}: {response.status_code} {response.text[:300]}")
            return
        (doc,) = response.json()["documents"]
        out.uploaded[name] = (index, doc["id"])
        return
    out.wrong.append(f"upload {name}: no API took it")


def _document(n: int) -> bytes:
    return (
        f"# Maintenance note {n}\n\nPump {n} needs a new impeller seal every {1000 + n} "
        f"operating hours.\n\n## Why\n\nNote {n} was written during the cluster test.\n"
    ).encode()


async def _until(check: Any, what: str, cluster: Cluster, limit: float = WAIT_LIMIT) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not (found := await check()):
        assert loop.time() < deadline, f"timed out waiting for {what}\n{cluster.logs()}"
        await asyncio.sleep(0.5)
    return found


async def _follow(response_cm: Any) -> list[Any]:
    """Every event of a streamed chat turn."""
    async with response_cm as response:
        assert response.status_code == 200
        return [event async for event in sse_events(response)]


async def _every_execution_ended(
    resources: Resources, workflow_id: uuid.UUID, cluster: Cluster, out: Outcomes
) -> None:
    """Every execution ends: none lost, none twice, none left queued or running."""

    async def settled() -> dict[str, int] | None:
        async with resources.sessions() as session:
            rows = await session.execute(
                select(Execution.status, func.count())
                .where(Execution.workflow_id == workflow_id)
                .group_by(Execution.status)
            )
            counts = {status: n for status, n in rows.all()}
        return None if counts.keys() & {"queued", "running"} else counts

    counts = await _until(settled, "every execution to end", cluster)
    async with resources.sessions() as session:
        keys = (
            await session.scalars(
                select(Execution.idempotency_key).where(Execution.workflow_id == workflow_id)
            )
        ).all()
        failures = (
            await session.scalars(
                select(Execution.error)
                .where(Execution.workflow_id == workflow_id, Execution.status != "succeeded")
                .limit(5)
            )
        ).all()
    assert len(keys) == EXECUTIONS
    sent = {f"cluster-{n}" for n in range(EXECUTIONS)}
    assert {k.rsplit(":", 1)[-1] for k in keys if k} == sent
    assert counts == {"succeeded": EXECUTIONS}, (counts, failures)
    assert sum(out.statuses.values()) == EXECUTIONS, out.statuses


async def _every_upload_ready(
    cluster: Cluster, http: httpx.AsyncClient, kb: str, auth: dict[str, str], out: Outcomes
) -> None:
    """Every upload is ready, and one accepted by the dead API downloads through the other."""
    assert set(out.uploaded) == {f"note-{n:02d}.md" for n in range(UPLOADS)}
    two = cluster.urls[1]

    async def ready() -> list[dict[str, Any]] | None:
        listed = await http.get(f"{two}/knowledge-bases/{kb}/documents", headers=auth)
        assert listed.status_code == 200, listed.text
        docs: list[dict[str, Any]] = listed.json()
        failed = [d for d in docs if d["status"] == "failed"]
        assert not failed, failed
        return docs if all(d["status"] == "ready" for d in docs) else None

    docs = await _until(ready, "every document to be ready", cluster)
    assert {d["name"] for d in docs} == set(out.uploaded)
    # a resent upload may have been stored by the API that died answering it
    assert len(docs) <= UPLOADS + out.upload_resent
    through_one = [(name, ident) for name, (api, ident) in sorted(out.uploaded.items()) if api == 0]
    assert through_one, "no upload went through the first API"
    name, ident = through_one[0]
    original = await http.get(
        f"{two}/knowledge-bases/{kb}/documents/{ident}/original", headers=auth
    )
    assert original.status_code == 200, original.text
    assert original.content == _document(int(name[5:7]))


async def _load(
    cluster: Cluster,
    http: httpx.AsyncClient,
    slug: str,
    kb: str,
    auth: dict[str, str],
    out: Outcomes,
) -> None:
    """The load, spread over both APIs; one worker and one API die in the middle of it."""
    gate = asyncio.Semaphore(CONCURRENCY)
    halfway = asyncio.Event()

    async def hook(n: int) -> None:
        async with gate:
            await _send_hook(cluster, http, slug, n, out)
            if out.answered >= KILL_AFTER:
                halfway.set()

    async def upload(n: int) -> None:
        await _upload(cluster, http, kb, n, auth, out)

    async def uploads() -> None:
        pending: set[asyncio.Task[None]] = set()
        for n in range(UPLOADS):  # two at a time, side by side with the webhooks
            if len(pending) >= 2:
                _, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
            pending.add(asyncio.create_task(upload(n)))
            if n == UPLOADS // 2:
                await halfway.wait()  # half the uploads before the kills, half after
        await asyncio.gather(*pending)

    async def killer() -> None:
        await halfway.wait()
        cluster.dead_apis.add(0)
        for proc in (cluster.workers[0], cluster.apis[0]):
            proc.kill()  # SIGKILL: nothing of it runs any more
            await proc.wait()

    await asyncio.gather(killer(), uploads(), *(hook(n) for n in range(EXECUTIONS)))


@pytest.mark.timeout(1800)  # a hang guard: five processes start on a possibly loaded machine
async def test_a_cluster_loses_nothing_when_a_worker_and_an_api_are_killed(
    settings: Settings, resources: Resources, tenant_factory: Any, script: Any, tmp_path: Path
) -> None:
    tenant = await tenant_factory(role="editor")
    env = {
        **process_env(settings, script.env(), tmp_path / "unused"),
        "REPORUNNER_WEBHOOK_RESPONSE_TIMEOUT_SECONDS": "60",
        "REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "0",
        "REPORUNNER_WEBHOOK_RATE_LIMIT_PER_MINUTE": "0",
        "REPORUNNER_RATE_LIMIT_PER_MINUTE": "0",
    }
    cluster = Cluster(env, tmp_path)
    out = Outcomes()
    try:
        await cluster.start_worker()  # the first worker alone, so it takes the hanging turn
        await cluster.start_apis(2)
        one, two = cluster.urls
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            auth = tenant.headers
            made = await http.post(f"{one}/workflows?publish=true", json=HOOK, headers=auth)
            assert made.status_code == 201, made.text
            workflow_id = uuid.UUID(made.json()["workflow"]["id"])
            base = await http.post(f"{one}/knowledge-bases", json={"name": "notes"}, headers=auth)
            assert base.status_code == 201, base.text
            kb = base.json()["id"]
            chats = []
            for _ in range(2):
                chat = await http.post(f"{one}/chats", json=AGENT, headers=auth)
                assert chat.status_code == 201, chat.text
                chats.append(chat.json()["id"])

            # a chat turn in flight on the first worker: its model never answers
            script.plan(Hang())
            hanging = asyncio.create_task(
                _follow(
                    http.stream(
                        "POST",
                        f"{two}/chats/{chats[0]}/messages",
                        json={"content": "are you there?"},
                        headers=auth,
                        timeout=httpx.Timeout(30, read=None),
                    )
                ),
                name="hanging turn",
            )
            assert await asyncio.to_thread(script.wait_requests, 1, WAIT_LIMIT), cluster.logs()
            async with resources.sessions() as session:
                turn = await session.scalar(
                    select(ChatTurn).where(ChatTurn.thread_id == uuid.UUID(chats[0]))
                )
            assert turn is not None
            assert turn.status == "running"
            doomed_worker = turn.worker_id
            await cluster.start_worker()
            await cluster.start_worker()

            await _load(cluster, http, tenant.slug, kb, auth, out)
            assert out.wrong == [], out.wrong[:20]
            assert cluster.workers[0].returncode is not None
            assert cluster.apis[0].returncode is not None

            # a new chat turn is answered by the workers left
            script.plan(Reply("Still here."))
            answered = await http.post(
                f"{two}/chats/{chats[1]}/messages", json={"content": "hello"}, headers=auth
            )
            assert answered.status_code == 200, answered.text
            events = sse(answered.text)
            assert events[-1][0] == "final", events
            assert events[-1][1]["message"]["content"] == "Still here."

            # the turn in flight on the dead worker ends with a clear error for its client
            followed = await asyncio.wait_for(hanging, WAIT_LIMIT)
            assert followed[0].event == "message"
            assert followed[-1].event == "error", [(e.event, e.data) for e in followed]
            assert followed[-1].data["code"] == "chat_turn_lost"
            async with resources.sessions() as session:
                ended = await session.get(ChatTurn, turn.id, populate_existing=True)
            assert ended is not None
            assert (ended.status, ended.worker_id) == ("failed", doomed_worker)

            await _every_execution_ended(resources, workflow_id, cluster, out)

            await _every_upload_ready(cluster, http, kb, auth, out)
    finally:
        for task in asyncio.all_tasks():
            if task.get_name() == "hanging turn":
                task.cancel()
        with contextlib.suppress(Exception):
            await cluster.stop()
