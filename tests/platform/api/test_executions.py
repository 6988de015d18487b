"""``/workflows/{id}/executions`` and ``/executions`` through real arq workers on the real
Postgres and Redis: node_runs rows, wait, cancel, retry, resume across a worker restart, a
duplicate enqueue, roles, cross-workspace 404, and Server-Sent Events (replay, then live)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from arq.jobs import Job
from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.executions.queue import enqueue_execution, job_id
from reporunner.platform.jobcodec import job_deserializer
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker

TRIGGER = {"id": "start", "type": "trigger.manual"}


def _set(node_id: str, name: str, value: Any) -> dict[str, Any]:
    kind = {bool: "boolean", int: "number"}.get(type(value), "string")
    field = {"name": name, "value": value, "type": kind}
    return {"id": node_id, "type": "data.set", "params": {"fields": [field]}}


def chain(name: str, *nodes: dict[str, Any], ports: dict[str, str] | None = None) -> dict[str, Any]:
    """``start -> nodes[0] -> nodes[1] ...`` (``ports`` names a non-main source port)."""
    ids = ["start", *(n["id"] for n in nodes)]
    ports = ports or {}
    edges = [
        {"source": a, "target": b, "source_port": ports.get(a, "main")}
        for a, b in itertools.pairwise(ids)
    ]
    return {"name": name, "nodes": [TRIGGER, *nodes], "edges": edges}


GREET = chain("greet", _set("set", "greeting", "hello {{ trigger.who }}"))
PAUSE = chain(
    "pause",
    {"id": "pause", "type": "logic.wait", "params": {"amount": 60}},
    _set("after", "late", True),
)
APPROVE = chain(
    "approve",
    _set("prepare", "amount", 42),
    {"id": "ask", "type": "human.approval", "params": {"message": "Refund {{ item.amount }}?"}},
    _set("done", "refunded", True),
    ports={"ask": "approved"},
)
FAIL = chain("fail", {"id": "stop", "type": "logic.stop", "params": {"message": "no way"}})


@dataclass
class Stack:
    """An app and a worker queue of this test's own (workers share ``resources``)."""

    settings: Settings
    resources: Resources
    client: AsyncTestClient

    async def drain(self) -> None:
        """Run a burst worker until the queue is empty."""
        await build_worker(self.resources, burst=True, handle_signals=False).main()

    @contextlib.asynccontextmanager
    async def worker(self) -> AsyncIterator[None]:
        """A worker running in the background for the block."""
        worker = build_worker(self.resources, burst=False, handle_signals=False)
        task = asyncio.create_task(worker.main())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


StackFactory = Callable[[], Awaitable[Stack]]


@pytest.fixture
async def make_stack(settings: Settings) -> AsyncIterator[StackFactory]:
    queue = f"test:exec:{uuid.uuid4().hex}"
    tuned = settings.model_copy(
        update={"queue_name": queue, "heartbeat_seconds": 0.5, "reap_after_seconds": 30.0}
    )
    opened: list[tuple[Resources, AsyncTestClient]] = []

    async def make() -> Stack:
        resources = await open_resources(tuned)  # the workers' (the app runs on its own loop)
        client = AsyncTestClient(create_app(tuned))
        await client.__aenter__()
        opened.append((resources, client))
        return Stack(tuned, resources, client)

    yield make
    for resources, client in reversed(opened):
        await client.__aexit__(None, None, None)
        await resources.close()


@pytest.fixture
async def stack(make_stack: StackFactory) -> Stack:
    return await make_stack()


async def create(stack: Stack, headers: dict[str, str], definition: dict[str, Any]) -> str:
    response = await stack.client.post(
        "/workflows", content=json.dumps(definition), headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["workflow"]["id"])


async def run(stack: Stack, headers: dict[str, str], wf_id: str, payload: Any = None) -> dict:
    body = {"input": payload or {}}
    response = await stack.client.post(f"/workflows/{wf_id}/executions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def poll(
    stack: Stack,
    headers: dict[str, str],
    ex_id: str,
    done: Callable[[dict], bool],
    limit: float = 30,
) -> dict:
    # the pause grows to half a second, so a slow run never polls near the per-key rate limit
    deadline, pause = time.monotonic() + limit, 0.02
    while True:
        response = await stack.client.get(f"/executions/{ex_id}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if done(body):
            return dict(body)
        assert time.monotonic() < deadline, f"gave up waiting; last state: {body}"
        await asyncio.sleep(pause)
        pause = min(0.5, pause * 1.5)


async def test_a_run_goes_through_the_worker_and_records_node_runs(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = await create(stack, tenant.headers, GREET)
    queued = await run(stack, tenant.headers, wf_id, {"who": "Ada"})
    assert queued["status"] == "queued"
    await stack.drain()
    got = (await stack.client.get(f"/executions/{queued['id']}", headers=tenant.headers)).json()
    assert got["status"] == "succeeded", got
    assert got["attempts"] == 1
    assert got["result"]["final_items"] == [{"who": "Ada", "greeting": "hello Ada"}]
    runs = {r["node_id"]: r for r in got["node_runs"]}
    assert list(runs) == ["start", "set"]
    assert runs["set"]["status"] == "succeeded"
    assert runs["set"]["input"] == {"main": [{"who": "Ada"}]}
    assert runs["set"]["output"] == {"main": [{"who": "Ada", "greeting": "hello Ada"}]}
    assert runs["set"]["node_type"] == "data.set"
    assert runs["set"]["duration_ms"] >= 0
    assert runs["set"]["output_truncated"] is False


async def test_list_filters_and_cursor_pages(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = await create(stack, tenant.headers, GREET)
    other_wf = await create(stack, tenant.headers, FAIL)
    ids = [(await run(stack, tenant.headers, wf_id, {"who": str(i)}))["id"] for i in range(3)]
    failed_id = (await run(stack, tenant.headers, other_wf))["id"]
    await stack.drain()
    seen: list[str] = []
    cursor = None
    while True:
        query = f"/executions?workflow_id={wf_id}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await stack.client.get(query, headers=tenant.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    failed = (await stack.client.get("/executions?status=failed", headers=tenant.headers)).json()
    assert [e["id"] for e in failed["items"]] == [failed_id]
    assert failed["items"][0]["error"]["message"]
    both = await stack.client.get(
        "/executions", params={"status": ["failed", "succeeded"]}, headers=tenant.headers
    )
    assert len(both.json()["items"]) == 4
    first = (await stack.client.get(f"/executions/{ids[0]}", headers=tenant.headers)).json()
    since = await stack.client.get(
        "/executions",
        params={"since": first["created_at"], "workflow_id": wf_id},
        headers=tenant.headers,
    )
    assert {e["id"] for e in since.json()["items"]} == set(ids)
    until = await stack.client.get(
        "/executions", params={"until": first["created_at"]}, headers=tenant.headers
    )
    assert until.json()["items"] == []
    bad = await stack.client.get("/executions?cursor=nonsense", headers=tenant.headers)
    assert bad.status_code == 422


async def test_wait_true_answers_when_the_run_ended(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = await create(stack, tenant.headers, GREET)
    # a real server: the test client would block this loop, and the worker runs on it
    async with (
        stack.worker(),
        serve(stack) as base,
        httpx.AsyncClient(base_url=base, timeout=60) as http,
    ):
        response = await http.post(
            f"/workflows/{wf_id}/executions?wait=true&timeout=30",
            json={"input": {"who": "Grace"}},
            headers=tenant.headers,
        )
    assert response.status_code == 201
    assert response.json()["status"] == "succeeded"
    assert response.json()["result"]["final_items"][0]["greeting"] == "hello Grace"


async def test_cancel_stops_a_running_execution(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = await create(stack, tenant.headers, PAUSE)
    async with stack.worker():
        ex_id = (await run(stack, tenant.headers, wf_id))["id"]

        def pausing(body: dict) -> bool:
            return any(
                r["node_id"] == "pause" and r["status"] == "running" for r in body["node_runs"]
            )

        await poll(stack, tenant.headers, ex_id, pausing)
        response = await stack.client.post(f"/executions/{ex_id}/cancel", headers=tenant.headers)
        assert response.status_code == 200
        assert response.json()["cancel_requested"] is True
        ended = await poll(stack, tenant.headers, ex_id, lambda b: b["status"] != "running")
    assert ended["status"] == "cancelled"
    assert ended["error"]["code"] == "execution_cancelled"
    assert "after" not in {r["node_id"] for r in ended["node_runs"]}
    again = await stack.client.post(f"/executions/{ex_id}/cancel", headers=tenant.headers)
    assert again.status_code == 409


async def test_cancel_of_a_queued_execution_is_immediate_and_final(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = await create(stack, tenant.headers, GREET)
    ex_id = (await run(stack, tenant.headers, wf_id))["id"]
    response = await stack.client.post(f"/executions/{ex_id}/cancel", headers=tenant.headers)
    assert response.json()["status"] == "cancelled"
    await stack.drain()  # its job finds it cancelled and does nothing
    got = (await stack.client.get(f"/executions/{ex_id}", headers=tenant.headers)).json()
    assert (got["status"], got["node_runs"], got["attempts"]) == ("cancelled", [], 0)


async def test_retry_runs_the_same_version_again(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = await create(stack, tenant.headers, FAIL)
    first = await run(stack, tenant.headers, wf_id, {"n": 1})
    refused = await stack.client.post(f"/executions/{first['id']}/retry", headers=tenant.headers)
    assert refused.status_code == 409  # still queued
    await stack.drain()
    # a new version was saved meanwhile; the retry still runs the version the first run ran
    await stack.client.post(
        f"/workflows/{wf_id}/versions", content=json.dumps(GREET), headers=tenant.headers
    )
    response = await stack.client.post(f"/executions/{first['id']}/retry", headers=tenant.headers)
    assert response.status_code == 201
    second = response.json()
    assert second["id"] != first["id"]
    assert (second["version_id"], second["trigger"]) == (first["version_id"], {"n": 1})
    assert second["trigger_type"] == "retry"
    await stack.drain()
    got = (await stack.client.get(f"/executions/{second['id']}", headers=tenant.headers)).json()
    assert got["status"] == "failed"
    assert got["error"]["message"].endswith("no way")


async def test_resume_after_approval_across_a_worker_restart(make_stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    first = await make_stack()
    wf_id = await create(first, tenant.headers, APPROVE)
    ex_id = (await run(first, tenant.headers, wf_id))["id"]
    early = await first.client.post(
        f"/executions/{ex_id}/resume", json={"payload": {"approved": True}}, headers=tenant.headers
    )
    assert early.status_code == 409  # not waiting yet
    await first.drain()
    waiting = (await first.client.get(f"/executions/{ex_id}", headers=tenant.headers)).json()
    assert waiting["status"] == "waiting"
    assert waiting["waiting_payload"]["message"] == "Refund 42?"
    await first.resources.close()  # the first worker process is gone
    second = await make_stack()
    null = await second.client.post(
        f"/executions/{ex_id}/resume", json={"payload": None}, headers=tenant.headers
    )
    assert null.status_code == 422
    response = await second.client.post(
        f"/executions/{ex_id}/resume",
        json={"payload": {"approved": True, "by": "ops"}},
        headers=tenant.headers,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    await second.drain()
    got = (await second.client.get(f"/executions/{ex_id}", headers=tenant.headers)).json()
    assert got["status"] == "succeeded", got
    assert got["attempts"] == 2
    done = got["result"]["final_items"][0]
    assert (done["refunded"], done["approval"]["by"]) == (True, "ops")
    ran = [r["node_id"] for r in got["node_runs"] if r["status"] == "succeeded"]
    assert ran.count("prepare") == 1  # not run again after the restart


async def test_a_duplicate_enqueue_never_runs_twice(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    slow = chain(
        "slow", {"id": "pause", "type": "logic.wait", "params": {"amount": 0.5}}, _set("s", "x", 1)
    )
    wf_id = await create(stack, tenant.headers, slow)
    ex_id = (await run(stack, tenant.headers, wf_id))["id"]
    again = await enqueue_execution(stack.resources.arq, stack.settings.queue_name, ex_id)
    assert again is False  # arq refuses a second job with the execution id
    for suffix in ("dup1", "dup2"):  # jobs that slipped through another way
        assert await enqueue_execution(
            stack.resources.arq, stack.settings.queue_name, ex_id, suffix=suffix
        )
    await stack.drain()  # one worker, up to 10 jobs at once: all three start together
    outcomes = []
    for jid in (job_id(ex_id, 0), job_id(ex_id, 0, "dup1"), job_id(ex_id, 0, "dup2")):
        job = Job(
            jid,
            stack.resources.arq,
            _queue_name=stack.settings.queue_name,
            _deserializer=job_deserializer,
        )
        outcomes.append(await job.result(timeout=5))
    assert sorted(outcomes) == ["skipped", "skipped", "succeeded"]
    got = (await stack.client.get(f"/executions/{ex_id}", headers=tenant.headers)).json()
    assert [r["node_id"] for r in got["node_runs"]] == ["start", "pause", "s"]
    assert got["attempts"] == 1


async def test_viewers_read_but_cannot_run_or_change(stack, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    wf_id = await create(stack, editor.headers, GREET)
    ex_id = (await run(stack, editor.headers, wf_id))["id"]
    viewer = await tenant_factory(role="viewer")
    for path in (f"/executions/{ex_id}/cancel", f"/executions/{ex_id}/retry"):
        assert (await stack.client.post(path, headers=viewer.headers)).status_code == 403
    resume = await stack.client.post(
        f"/executions/{ex_id}/resume", json={"payload": 1}, headers=viewer.headers
    )
    assert resume.status_code == 403
    start = await stack.client.post(
        f"/workflows/{wf_id}/executions", json={}, headers=viewer.headers
    )
    assert start.status_code == 403
    listed = await stack.client.get("/executions", headers=viewer.headers)
    assert listed.status_code == 200
    assert listed.json()["items"] == []  # another workspace's runs are invisible


async def test_another_workspace_gets_404_on_every_execution_route(stack, tenant_factory) -> None:
    owner = await tenant_factory(role="owner")
    wf_id = await create(stack, owner.headers, APPROVE)
    ex_id = (await run(stack, owner.headers, wf_id))["id"]
    await stack.drain()
    other = await tenant_factory(role="owner")
    calls = [
        ("GET", f"/executions/{ex_id}", None),
        ("GET", f"/executions/{ex_id}/events", None),
        ("POST", f"/executions/{ex_id}/cancel", None),
        ("POST", f"/executions/{ex_id}/retry", None),
        ("POST", f"/executions/{ex_id}/resume", {"payload": {"approved": True}}),
    ]
    for method, path, body in calls:
        response = await stack.client.request(method, path, json=body, headers=other.headers)
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert "Refund" not in response.text
    listed = await stack.client.get(f"/executions?workflow_id={wf_id}", headers=other.headers)
    assert listed.json()["items"] == []
    still = (await stack.client.get(f"/executions/{ex_id}", headers=owner.headers)).json()
    assert still["status"] == "waiting"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(stack: Stack) -> AsyncIterator[str]:
    """The app on a real local HTTP server (the test client buffers whole responses)."""
    port = _free_port()
    app = create_app(stack.settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _read_events(
    response: httpx.Response, sink: list[dict[str, Any]], seen_live: asyncio.Event
):
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event["event"] = line.split(":", 1)[1].strip()
        elif line.startswith("id:"):
            event["id"] = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            event["data"] = json.loads(line.split(":", 1)[1])
        elif not line and event:
            sink.append(event)
            if event["event"] == "execution.finished":
                seen_live.set()
            event = {}


async def test_events_replay_what_happened_then_follow_live(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = await create(stack, tenant.headers, APPROVE)
    ex_id = (await run(stack, tenant.headers, wf_id))["id"]
    await stack.drain()  # runs until the approval: these events are history
    events: list[dict[str, Any]] = []
    replayed = asyncio.Event()
    async with (
        serve(stack) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        http.stream("GET", f"/executions/{ex_id}/events", headers=tenant.headers) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        reader = asyncio.create_task(_read_events(r, events, replayed))
        await asyncio.wait_for(replayed.wait(), 20)  # history up to "waiting" arrived
        history = len(events)
        assert events[history - 1]["data"]["status"] == "waiting"
        resumed = await stack.client.post(
            f"/executions/{ex_id}/resume", json={"payload": "approve"}, headers=tenant.headers
        )
        assert resumed.status_code == 200
        await stack.drain()
        await asyncio.wait_for(reader, 20)  # the stream ends by itself at the end
    names = [e["event"] for e in events]
    assert names[:3] == ["execution.started", "node.started", "node.finished"]
    assert names[history - 1] == "execution.finished"
    live = names[history:]
    assert live[0] == "execution.started"
    assert events[history]["data"]["resumed"] is True
    assert ("node.finished", "done") in {
        (e["event"], e["data"].get("node_id")) for e in events[history:]
    }
    assert live[-1] == "execution.finished"
    assert events[-1]["data"]["status"] == "succeeded"
    ids = [tuple(map(int, e["id"].split("-"))) for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


async def test_events_of_an_old_execution_end_with_its_outcome(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="viewer")
    editor = await tenant_factory(role="editor")
    wf_id = await create(stack, editor.headers, GREET)
    ex_id = (await run(stack, editor.headers, wf_id, {"who": "Lin"}))["id"]
    await stack.drain()
    full = await stack.client.get(f"/executions/{ex_id}/events", headers=editor.headers)
    assert full.status_code == 200
    assert full.text.count("event: node.finished") == 2
    assert full.text.rstrip().endswith('"status":"succeeded"}')
    assert (
        await stack.client.get(f"/executions/{ex_id}/events", headers=tenant.headers)
    ).status_code == 404
    await stack.resources.redis.delete(f"reporunner:execution:{ex_id}:stream")  # expired
    gone = await stack.client.get(f"/executions/{ex_id}/events", headers=editor.headers)
    assert gone.text.count("event: ") == 1
    assert "event: execution.finished" in gone.text
    assert '"status":"succeeded"' in gone.text


async def test_cancel_of_a_waiting_execution_ends_it(stack, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = await create(stack, tenant.headers, APPROVE)
    ex_id = (await run(stack, tenant.headers, wf_id))["id"]
    await stack.drain()
    cancelled = await stack.client.post(f"/executions/{ex_id}/cancel", headers=tenant.headers)
    assert cancelled.json()["status"] == "cancelled"
    late = await stack.client.post(
        f"/executions/{ex_id}/resume", json={"payload": "approve"}, headers=tenant.headers
    )
    assert late.status_code == 409
    assert "only a waiting execution" in late.json()["detail"]
    got = (await stack.client.get(f"/executions/{ex_id}", headers=tenant.headers)).json()
    assert "done" not in {r["node_id"] for r in got["node_runs"]}
    assert {r["status"] for r in got["node_runs"] if r["node_id"] == "ask"} == {"interrupted"}
