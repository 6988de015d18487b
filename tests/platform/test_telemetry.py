"""Traces: one webhook delivery is ONE connected trace, from the API's request span through the
queue (the ``traceparent`` stored on the execution) to the worker's run, every node run, each
LLM call (model, tokens and cost as attributes) and each tool call, exported over OTLP/HTTP to
a receiver inside the test that decodes them with ``opentelemetry-proto``.

The worker is a real ``reporunner worker`` process (its LLM calls answered by the scripted
provider, ``scripted_worker_testkit.py``): nothing but the row and the queue carries the trace
from the API process to it. A caller's ``traceparent`` is never the
parent (it becomes a link); a malformed one changes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from reporunner.nodes import tracing
from reporunner.nodes.registry import default_registry
from reporunner.platform.api.app import create_app
from reporunner.platform.db.models import Execution
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import execution_now
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.telemetry import start_tracing, stop_tracing
from reporunner.platform.workflows import create_workflow

HERE = Path(__file__).parent
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER = f"00-{CALLER_TRACE}-b7ad6b7169203331-01"


@dataclass
class Received:
    """Spans the receiver decoded, with what each request carried."""

    spans: list[dict[str, Any]] = field(default_factory=list)
    services: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.spans)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def _handler(received: Received) -> type[BaseHTTPRequestHandler]:
    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            decoded = []
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        decoded.append(
                            {
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "name": span.name,
                                "kind": span.kind,
                                "attributes": {a.key: _value(a.value) for a in span.attributes},
                                "links": [link.trace_id.hex() for link in span.links],
                                "status": span.status.code,
                                "service": resource.get("service.name"),
                                "role": resource.get("reporunner.role"),
                            }
                        )
            with received.lock:
                received.spans.extend(decoded)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    return Collector


@pytest.fixture
def collector() -> Iterator[tuple[str, Received]]:
    received = Received()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(received))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def traced(
    settings: Settings, collector: tuple[str, Received], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings with tracing on (spans exported within 50 ms) and a queue of their own; tracing
    is off again afterwards."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    yield settings.model_copy(
        update={
            "queue_name": f"test:traces:{uuid.uuid4().hex}",
            "otel_exporter_otlp_endpoint": collector[0],
        }
    )
    assert not tracing.enabled(), "a test left tracing on"


@pytest.fixture
async def resources(traced: Settings) -> AsyncIterator[Resources]:
    opened = await open_resources(traced)
    yield opened
    await opened.redis.delete(traced.queue_name)
    await opened.close()


def _flow(path: str) -> dict[str, Any]:
    return {
        "name": "traced desk",
        "nodes": [
            {"id": "hook", "type": "trigger.webhook", "params": {"path": path}},
            {
                "id": "agent",
                "type": "ai.agent",
                "params": {
                    "model": "scripted/tracer",
                    "prompt": "Stamp order {{ trigger.body.order }}.",
                    "tools": [
                        {
                            "kind": "node",
                            "name": "stamp",
                            "node_type": "data.set",
                            "params": {"fields": [{"name": "stamped", "value": "yes"}]},
                        }
                    ],
                },
            },
        ],
        "edges": [{"source": "hook", "target": "agent"}],
    }


async def _publish(resources: Resources, workspace_id: uuid.UUID, flow: dict[str, Any]) -> None:
    async with transaction(resources.sessions) as db:
        await create_workflow(db, workspace_id, flow, default_registry(), publish=True)


async def _spans_until(received: Received, check: Any, what: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        spans = received.snapshot()
        if check(spans):
            return spans
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {spans}"
        await asyncio.sleep(0.05)


@pytest.mark.timeout(400)  # a worker process and an API start, on a possibly loaded machine
async def test_a_webhook_run_is_one_trace_from_request_to_tool_call(
    services, traced: Settings, resources: Resources, collector, tenant_factory, tmp_path: Path
) -> None:
    _, received = collector
    tenant = await tenant_factory()
    path = f"trace-{uuid.uuid4().hex[:8]}"
    await _publish(resources, tenant.workspace_id, _flow(path))
    plan = [
        {"price": ["scripted/tracer", 0.001, 0.002]},
        {
            "tool_calls": [{"name": "stamp", "id": "s1"}],
            "prompt_tokens": 20,
            "completion_tokens": 4,
        },
        {"text": "stamped", "prompt_tokens": 30, "completion_tokens": 6},
    ]
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "REPORUNNER_QUEUE_NAME": traced.queue_name,
        "REPORUNNER_DATA_DIR": str(tmp_path / "worker"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": str(traced.otel_exporter_otlp_endpoint),
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "scripted_worker_testkit.py"), json.dumps(plan),
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        async with AsyncTestClient(create_app(traced)) as client:
            answer = await client.post(
                f"/hooks/{tenant.slug}/{path}",
                json={"order": "A7"},
                headers={"traceparent": CALLER},
            )
            assert answer.status_code == 202, answer.text
            execution_id = uuid.UUID(answer.json()["execution_id"])
            deadline = time.monotonic() + 240
            while (
                await execution_now(resources, tenant.workspace_id, execution_id)
            ).status not in ("succeeded", "failed"):
                assert worker.returncode is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the execution did not end"
                await asyncio.sleep(0.05)
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)  # its exit flushes the last spans
        try:
            await asyncio.wait_for(worker.wait(), 60)
        except TimeoutError:
            worker.kill()
            await worker.wait()
        log.close()

    def complete(spans: list[dict[str, Any]]) -> bool:
        names = {s["name"] for s in spans}
        return {"run execution", "node agent", "tool stamp"} <= names and (
            sum(s["name"] == "chat scripted/tracer" for s in spans) == 2
        )

    spans = await _spans_until(received, complete, "the worker's spans")
    done = await execution_now(resources, tenant.workspace_id, execution_id)
    assert done.status == "succeeded", done.error

    ours = [s for s in spans if s["trace_id"] != CALLER_TRACE]
    (root,) = [s for s in spans if s["name"].startswith("POST /hooks/")]
    trace_id = root["trace_id"]
    in_trace = [s for s in spans if s["trace_id"] == trace_id]
    assert len(in_trace) == len(ours) == len(spans), "spans outside the one trace"
    # connected: one root, every other span's parent is a span of the trace
    by_id = {s["span_id"]: s for s in in_trace}
    assert [s["name"] for s in in_trace if not s["parent"]] == [root["name"]]
    assert all(s["parent"] in by_id for s in in_trace if s is not root)

    def parent_of(span: dict[str, Any]) -> str:
        return str(by_id[span["parent"]]["name"])

    (run,) = [s for s in in_trace if s["name"] == "run execution"]
    assert run["parent"] == root["span_id"]
    assert run["attributes"]["reporunner.execution.id"] == str(execution_id)
    assert run["attributes"]["reporunner.execution.status"] == "succeeded"
    nodes = {s["name"]: s for s in in_trace if s["name"].startswith("node ")}
    assert set(nodes) == {"node hook", "node agent"}
    assert all(n["parent"] == run["span_id"] for n in nodes.values())
    assert nodes["node agent"]["attributes"]["reporunner.node.type"] == "ai.agent"
    calls = [s for s in in_trace if s["name"] == "chat scripted/tracer"]
    assert all(parent_of(c) == "node agent" for c in calls)
    usage = sorted(
        (
            c["attributes"]["gen_ai.usage.input_tokens"],
            c["attributes"]["gen_ai.usage.output_tokens"],
            c["attributes"]["reporunner.llm.cost_usd"],
        )
        for c in calls
    )
    assert [u[:2] for u in usage] == [(20, 4), (30, 6)]
    assert usage[0][2] == pytest.approx(20 * 0.001 + 4 * 0.002)
    assert {c["attributes"]["gen_ai.request.model"] for c in calls} == {"scripted/tracer"}
    (tool,) = [s for s in in_trace if s["name"] == "tool stamp"]
    assert parent_of(tool) == "node agent"
    assert tool["attributes"]["gen_ai.tool.name"] == "stamp"
    # the caller's traceparent is a link, never the parent
    assert root["links"] == [CALLER_TRACE]
    assert trace_id != CALLER_TRACE
    assert {s["service"] for s in in_trace} == {"reporunner"}
    # two processes: the request span from the API (this one), the rest from the worker
    assert root["role"] == "api"
    assert {s["role"] for s in in_trace if s is not root} == {"worker"}


@pytest.mark.parametrize(
    "header",
    [
        "not-a-traceparent",
        "00-00000000000000000000000000000000-0000000000000000-01",  # all-zero ids: invalid
        "ff-" + "a" * 32 + "-" + "b" * 16 + "-01",  # version ff is forbidden
        "00-" + "g" * 32 + "-" + "b" * 16 + "-01",
        "x" * 4000,
    ],
)
async def test_a_bogus_traceparent_starts_a_fresh_trace(
    traced: Settings, resources: Resources, collector, tenant_factory, header: str
) -> None:
    _, received = collector
    tenant = await tenant_factory()
    path = f"bogus-{uuid.uuid4().hex[:8]}"
    await _publish(
        resources,
        tenant.workspace_id,
        {
            "name": "bare",
            "nodes": [{"id": "hook", "type": "trigger.webhook", "params": {"path": path}}],
            "edges": [],
        },
    )
    async with AsyncTestClient(create_app(traced)) as client:
        answer = await client.post(
            f"/hooks/{tenant.slug}/{path}", json={}, headers={"traceparent": header}
        )
    assert answer.status_code == 202, answer.text
    execution_id = uuid.UUID(answer.json()["execution_id"])
    spans = await _spans_until(
        received, lambda s: any(x["name"].startswith("POST /hooks/") for x in s), "the span"
    )
    (root,) = [s for s in spans if s["name"].startswith("POST /hooks/")]
    assert (root["parent"], root["links"]) == ("", [])
    assert root["attributes"]["http.response.status_code"] == 202
    # the stored context is the request span's, so a worker would continue this trace
    stored = (await execution_now(resources, tenant.workspace_id, execution_id)).id
    assert stored == execution_id
    async with resources.sessions() as session:
        row = await session.get(Execution, execution_id)
        assert row is not None
        assert row.traceparent is not None
        assert row.traceparent.startswith(f"00-{root['trace_id']}-{root['span_id']}-")


def test_tracing_is_off_without_an_endpoint(settings: Settings) -> None:
    assert settings.otel_exporter_otlp_endpoint is None
    assert start_tracing(settings, "api") is False
    assert not tracing.enabled()
    with tracing.span("nothing") as span:
        assert span is None
    assert tracing.current_traceparent() is None
    assert tracing.start("nothing") is None
    stop_tracing()  # no user: nothing to stop
    assert not tracing.enabled()
