"""What an execution leaves behind: node_runs rows (bounded with a marker, never dropped),
token/cost sums, events on the Redis channel and stream, and sub-workflows of one workspace."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from exec_testnodes import registry_with_test_nodes
from sqlalchemy import select

from reporunner.nodes.errors import ValidationFailed
from reporunner.platform import vault
from reporunner.platform.auth import Principal
from reporunner.platform.db.models.workflows import Execution, NodeRun, WorkflowVersion
from reporunner.platform.db.session import transaction
from reporunner.platform.engine import content_hash, parse_definition
from reporunner.platform.executions import DatabaseHooks, EventSink, channel, start_execution
from reporunner.platform.executions.events import read_events
from reporunner.platform.resources import Resources
from reporunner.platform.vault.schemas import CredentialCreate
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow, publish_version, save_version

REGISTRY = registry_with_test_nodes()
TRIGGER = {"id": "start", "type": "trigger.manual"}


def _flow(name: str, *nodes: dict[str, Any], settings: dict[str, Any] | None = None) -> dict:
    ids = ["start", *(n["id"] for n in nodes)]
    edges = [{"source": a, "target": b} for a, b in itertools.pairwise(ids)]
    return {"name": name, "nodes": [TRIGGER, *nodes], "edges": edges, "settings": settings or {}}


GREET = _flow(
    "greet",
    {"id": "set", "type": "data.set", "params": {"fields": [{"name": "hi", "value": "there"}]}},
)


async def _create_unchecked(resources: Resources, workspace_id: uuid.UUID, flow: dict) -> Any:
    """Save ``flow`` past the save-time reference check (which refuses other workspaces' ids),
    as if the referenced row had moved after saving: the run-time check must still refuse it."""
    with pytest.raises(ValidationFailed, match="does not exist in this workspace"):
        async with transaction(resources.sessions) as db:
            await create_workflow(db, workspace_id, flow, REGISTRY)
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, workspace_id, GREET, REGISTRY)
    defn = parse_definition(flow)
    async with resources.sessions() as session, session.begin():
        session.add(
            WorkflowVersion(
                workspace_id=workspace_id, workflow_id=wf.id, number=2,
                definition=defn.model_dump(mode="json"), content_hash=content_hash(defn), note="",
            )
        )  # fmt: skip
    return wf


async def _drain(resources: Resources) -> None:
    await build_worker(resources, burst=True, handle_signals=False, registry=REGISTRY).main()


async def _row(resources: Resources, ex_id: uuid.UUID | str) -> Execution:
    async with resources.sessions() as session:
        row = await session.get(Execution, uuid.UUID(str(ex_id)), populate_existing=True)
        assert row is not None
        return row


async def _runs(resources: Resources, ex_id: uuid.UUID) -> list[NodeRun]:
    async with resources.sessions() as session:
        query = select(NodeRun).where(NodeRun.execution_id == ex_id).order_by(NodeRun.started_at)
        return list((await session.execute(query)).scalars().all())


async def test_outputs_over_the_limit_are_cut_with_a_marker(resources, tenant_factory) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    out = await start_execution(resources, tenant.workspace_id, wf.id, {})
    hooks = DatabaseHooks(
        sessions=resources.sessions,
        events=EventSink(resources.redis, str(out.id)),
        execution_id=out.id,
        workspace_id=tenant.workspace_id,
        node_types={"big": "data.set"},
        max_record_bytes=400,
    )
    items = [{"n": i, "text": "x" * 50} for i in range(40)]
    await hooks.node_started("big", run=1, inputs={"main": items})
    await hooks.node_finished("big", run=1, outputs={"main": items}, duration=0.01, attempt=1)
    await hooks.close()  # rows are written in the background; close writes what is pending
    (row,) = await _runs(resources, out.id)
    assert (row.status, row.node_type, row.output_truncated) == ("succeeded", "data.set", True)
    assert row.output is not None
    assert row.input is not None
    kept = row.output["main"]
    marker = kept[-1]["_truncated"]
    assert marker["total_items"] == 40
    assert marker["kept_items"] == len(kept) - 1 > 0
    assert kept[:-1] == items[: len(kept) - 1]
    assert len(json.dumps(row.output)) < 400 + 300
    assert row.input["main"][-1]["_truncated"]["total_items"] == 40


async def test_usage_is_summed_and_events_reach_channel_and_stream(
    resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    usage = {"tokens_in": 10, "tokens_out": 3, "cost_usd": 0.25}
    flow = _flow(
        "llmish",
        {"id": "llm1", "type": "test.usage", "params": usage},
        {"id": "llm2", "type": "test.usage", "params": usage},
    )
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, flow, REGISTRY)
    out = await start_execution(resources, tenant.workspace_id, wf.id, {})
    pubsub = resources.redis.pubsub()
    await pubsub.subscribe(channel(str(out.id)))
    try:
        await _drain(resources)
        live: list[str] = []
        deadline = time.monotonic() + 10
        while "execution.finished" not in live:
            assert time.monotonic() < deadline, live
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                live.append(json.loads(message["data"])["event"])
    finally:
        await pubsub.aclose()
    row = await _row(resources, out.id)
    assert row.status == "succeeded"
    assert (row.tokens_in, row.tokens_out, float(row.cost_usd)) == (40, 12, 1.0)
    runs = {r.node_id: r for r in await _runs(resources, out.id)}
    assert (runs["llm1"].tokens_in, runs["llm1"].tokens_out) == (20, 6)
    kept = [e.event for e in await read_events(resources.redis, str(out.id))]
    assert kept == live
    assert kept[0] == "execution.started"
    assert kept[-1] == "execution.finished"
    assert kept.count("usage") == 4
    assert kept.count("node.finished") == 3


async def test_sub_workflows_run_within_the_workspace(resources, tenant_factory) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        child, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY)
    stranger = await tenant_factory()
    async with transaction(resources.sessions) as db:
        foreign, _ = await create_workflow(db, stranger.workspace_id, GREET, REGISTRY)

    def caller(target: uuid.UUID, mode: str = "wait") -> dict:
        node = {
            "id": "call",
            "type": "workflow.execute",
            "params": {"workflow_id": str(target), "mode": mode},
        }
        return _flow(f"call-{mode}", node)

    ids = {}
    for key, flow in {
        "wait": caller(child.id),
        "foreign": caller(foreign.id),
        "queue": caller(child.id, "fire_and_forget"),
    }.items():
        if key == "foreign":
            wf = await _create_unchecked(resources, tenant.workspace_id, flow)
        else:
            async with transaction(resources.sessions) as db:
                wf, _ = await create_workflow(db, tenant.workspace_id, flow, REGISTRY)
        ids[key] = (await start_execution(resources, tenant.workspace_id, wf.id, {"who": key})).id
    await _drain(resources)
    waited = await _row(resources, ids["wait"])
    assert waited.status == "succeeded", waited.error
    assert waited.result == {"final_items": [{"who": "wait", "hi": "there"}]}
    refused = await _row(resources, ids["foreign"])
    assert refused.status == "failed"
    assert refused.error is not None
    assert "does not exist in this workspace" in refused.error["message"]
    queued = await _row(resources, ids["queue"])
    assert queued.status == "succeeded", queued.error
    assert queued.result is not None
    child_id = queued.result["final_items"][0]["execution_id"]
    started = await _row(resources, child_id)
    assert (started.parent_execution_id, started.depth) == (ids["queue"], 1)
    assert (started.trigger_type, started.workflow_id) == ("subworkflow", child.id)
    assert started.status == "succeeded"  # the burst worker ran it too


async def test_a_workflow_calling_itself_stops_at_the_depth_bound(
    resources, tenant_factory
) -> None:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, GREET, REGISTRY, publish=True)
    node = {"id": "again", "type": "workflow.execute", "params": {"workflow_id": str(wf.id)}}
    looping = _flow("loop", node, settings={"max_subworkflow_depth": 2})
    async with transaction(resources.sessions) as db:
        version = await save_version(db, tenant.workspace_id, wf.id, looping, REGISTRY)
    # sub-workflow calls run the published version: publish the one that calls itself
    async with transaction(resources.sessions) as db:
        await publish_version(db, tenant.workspace_id, wf.id, version.number)
    out = await start_execution(resources, tenant.workspace_id, wf.id, {})
    await _drain(resources)
    row = await _row(resources, out.id)
    assert row.status == "failed"
    assert row.error is not None
    assert "max_subworkflow_depth=2" in row.error["message"]


async def test_bound_credentials_are_decrypted_within_the_workspace(
    resources, tenant_factory, services
) -> None:
    tenant = await tenant_factory()
    stranger = await tenant_factory()
    # the credential points at the test's only Redis, the platform's own: the operator must
    # name it exactly for credentials to reach it (tests/security/test_credential_hosts.py)
    host = str(urlsplit(services.redis_url).hostname)
    resources.settings = resources.settings.model_copy(update={"credential_allow_hosts": host})
    ids = {}
    for who, ws in (("mine", tenant), ("theirs", stranger)):
        principal = Principal(ws.workspace_id, ws.slug, ws.user_id, "owner")
        body = CredentialCreate(name="redis", type="redis_url", data={"url": services.redis_url})
        async with resources.sessions() as session, session.begin():
            created = await vault.create_credential(session, principal, body, resources.keyring)
        ids[who] = str(created.id)
    key = f"test:cred:{uuid.uuid4().hex}"

    def incr(credential_id: str) -> dict:
        node = {
            "id": "bump",
            "type": "redis.command",
            "params": {"operation": "incr", "key": key},
            "credentials": {"redis_url": credential_id},
        }
        return _flow("bump", node)

    runs = {}
    for who in ("mine", "theirs"):
        if who == "theirs":
            wf = await _create_unchecked(resources, tenant.workspace_id, incr(ids[who]))
        else:
            async with transaction(resources.sessions) as db:
                wf, _ = await create_workflow(db, tenant.workspace_id, incr(ids[who]), REGISTRY)
        runs[who] = (await start_execution(resources, tenant.workspace_id, wf.id, {})).id
    await _drain(resources)
    mine = await _row(resources, runs["mine"])
    assert mine.status == "succeeded", mine.error
    assert await resources.redis.get(key) == b"1"
    refused = await _row(resources, runs["theirs"])
    assert refused.status == "failed"
    assert refused.error is not None
    assert "does not exist in this workspace" in refused.error["message"]
    assert await _runs(resources, runs["theirs"]) == []  # no node ran with it
