"""Webhook deliveries: routing, per-trigger auth, idempotency, data-only bodies, rate limit."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import select
from webhook_testkit import hook_workflow, publish

from reporunner.nodes.builtin.trigger_webhook import webhook_signature
from reporunner.platform.api.app import create_app
from reporunner.platform.api.clients import anon_bucket
from reporunner.platform.db.models import Execution
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.executions.events import webhook_wake_key
from reporunner.platform.executions.service import TERMINAL, execution_now, start_execution
from reporunner.platform.resources import open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.webhooks import Delivery, handle_delivery
from reporunner.platform.webhooks.service import WebhookNoResponse
from reporunner.platform.worker import build_worker

SECRET = "whsec-" + "s" * 24


@pytest.fixture
def hook_settings(settings: Settings, tmp_path) -> Settings:
    key = base64.b64encode(b"k" * 32).decode()
    return settings.model_copy(update={"data_dir": tmp_path, "secret_key": SecretStr(key)})


@pytest.fixture
async def hook_client(hook_settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(hook_settings)) as client:
        yield client


async def _executions(database_url: str, workflow_id: str) -> list[Execution]:
    engine = create_engine(database_url, pool_size=1)
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(Execution).where(Execution.workflow_id == uuid.UUID(workflow_id))
        )
        found = list(rows.scalars())
    await engine.dispose()
    return found


async def _credential(client: AsyncTestClient[Any], headers: dict[str, str], kind: str) -> str:
    data = {"secret": SECRET} if kind == "hmac_secret" else {"api_key": SECRET}
    response = await client.post(
        "/credentials",
        json={"name": f"{kind}-{uuid.uuid4().hex[:6]}", "type": kind, "data": data},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_json_delivery_starts_the_published_workflow(
    services, hook_client, tenant_factory
) -> None:
    tenant = await tenant_factory()
    wf = await publish(services.database_url, tenant.workspace_id, hook_workflow("orders/new"))
    response = await hook_client.post(
        f"/hooks/{tenant.slug}/orders/new?source=shop",
        json={"order": 7},
        headers={"Authorization": "Bearer not-for-the-workflow", "X-Shop": "one"},
    )
    assert response.status_code == 202, response.text
    [row] = await _executions(services.database_url, wf)
    assert response.json()["execution_id"] == str(row.id)
    assert row.trigger_type == "webhook"
    assert row.trigger["body"] == {"order": 7}
    assert row.trigger["query"] == {"source": "shop"}
    assert row.trigger["headers"]["x-shop"] == "one"
    assert "authorization" not in row.trigger["headers"]


async def test_unknown_paths_methods_and_workspaces_are_404(
    services, hook_client, tenant_factory
) -> None:
    tenant = await tenant_factory()
    await publish(services.database_url, tenant.workspace_id, hook_workflow("a"))
    assert (await hook_client.post(f"/hooks/{tenant.slug}/b", json={})).status_code == 404
    assert (await hook_client.get(f"/hooks/{tenant.slug}/a")).status_code == 404
    assert (await hook_client.post("/hooks/no-such-workspace/a", json={})).status_code == 404


async def test_duplicate_deliveries_produce_one_execution(
    services, hook_client, tenant_factory
) -> None:
    tenant = await tenant_factory()
    wf = await publish(services.database_url, tenant.workspace_id, hook_workflow("dup"))
    ids = set()
    for _ in range(3):
        response = await hook_client.post(
            f"/hooks/{tenant.slug}/dup", json={"n": 1}, headers={"Idempotency-Key": "evt-1"}
        )
        assert response.status_code == 202
        ids.add(response.json()["execution_id"])
    other = await hook_client.post(
        f"/hooks/{tenant.slug}/dup", json={"n": 2}, headers={"Idempotency-Key": "evt-2"}
    )
    rows = await _executions(services.database_url, wf)
    assert len(ids) == 1
    assert len(rows) == 2
    assert other.json()["execution_id"] not in ids


async def test_hmac_refuses_wrong_signatures_and_old_timestamps(
    services, hook_client, tenant_factory
) -> None:
    tenant = await tenant_factory(role="admin")
    cred = await _credential(hook_client, tenant.headers, "hmac_secret")
    wf = await publish(
        services.database_url,
        tenant.workspace_id,
        hook_workflow("signed", auth="hmac", credentials={"hmac_secret": cred}),
    )
    url = f"/hooks/{tenant.slug}/signed"
    body = b'{"paid": true}'
    now = int(time.time())

    def signed(stamp: int, secret: str = SECRET) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Timestamp": str(stamp),
            "X-Signature": webhook_signature(secret, stamp, body),
        }

    wrong = await hook_client.post(url, content=body, headers=signed(now, "other-secret"))
    old = await hook_client.post(url, content=body, headers=signed(now - 3600))
    missing = await hook_client.post(url, content=body)
    tampered = await hook_client.post(url, content=b'{"paid": false}', headers=signed(now))
    for refused in (wrong, old, missing, tampered):
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert "timestamp" in old.json()["detail"]
    assert await _executions(services.database_url, wf) == []
    good = await hook_client.post(url, content=body, headers=signed(now))
    assert good.status_code == 202, good.text
    [row] = await _executions(services.database_url, wf)
    assert "x-signature" not in row.trigger["headers"]
    assert SECRET not in str(row.trigger)


async def test_header_token_auth(services, hook_client, tenant_factory) -> None:
    tenant = await tenant_factory(role="admin")
    cred = await _credential(hook_client, tenant.headers, "api_key")
    await publish(
        services.database_url,
        tenant.workspace_id,
        hook_workflow("tok", auth="header_token", credentials={"api_key": cred}),
    )
    url = f"/hooks/{tenant.slug}/tok"
    wrong = await hook_client.post(url, json={}, headers={"X-Webhook-Token": "nope"})
    right = await hook_client.post(url, json={}, headers={"X-Webhook-Token": SECRET})
    assert wrong.status_code == 401
    assert right.status_code == 202


async def test_text_and_multipart_bodies_are_data_never_files(
    services, hook_client, tenant_factory
) -> None:
    tenant = await tenant_factory()
    wf = await publish(services.database_url, tenant.workspace_id, hook_workflow("files"))
    url = f"/hooks/{tenant.slug}/files"
    text = await hook_client.post(
        url, content=b'{"file": "@/etc/passwd"}', headers={"Content-Type": "text/plain"}
    )
    multipart = await hook_client.post(
        url,
        files={"upload": ("../../../etc/passwd", b"just bytes", "application/json")},
        data={"path": "/etc/passwd"},
    )
    bad_json = await hook_client.post(
        url, content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert text.status_code == 202
    assert multipart.status_code == 202
    assert bad_json.status_code == 400
    rows = sorted(await _executions(services.database_url, wf), key=lambda r: r.created_at)
    bodies = [r.trigger["body"] for r in rows]
    assert '{"file": "@/etc/passwd"}' in bodies
    form = next(b for b in bodies if isinstance(b, dict))
    assert form["path"] == "/etc/passwd"
    assert form["upload"]["text"] == "just bytes"
    assert form["upload"]["filename"] == "../../../etc/passwd"
    assert "root:" not in str(bodies)


async def test_a_webhook_path_is_rate_limited(
    services, hook_settings, tenant_factory, frozen_rate_window
) -> None:
    tenant = await tenant_factory()
    await publish(services.database_url, tenant.workspace_id, hook_workflow("busy"))
    limited = hook_settings.model_copy(update={"webhook_rate_limit_per_minute": 2})
    async with AsyncTestClient(create_app(limited)) as client:
        statuses = [
            (await client.post(f"/hooks/{tenant.slug}/busy", json={})).status_code for _ in range(3)
        ]
        last = await client.post(f"/hooks/{tenant.slug}/busy", json={})
    assert statuses == [202, 202, 429]
    assert last.status_code == 429
    assert last.headers["retry-after"] == "30"  # the rest of the frozen window
    assert last.headers["content-type"].startswith("application/problem+json")


async def test_only_failed_deliveries_count_toward_the_anonymous_limit(
    services, hook_settings, tenant_factory, frozen_rate_window
) -> None:
    """A busy integration's deliveries never trip the per-address limit; unknown paths and
    wrong tokens do, with or without an (unchecked) API key, and then refuse the address."""
    tenant = await tenant_factory(role="admin")
    limit = 3
    limited = hook_settings.model_copy(update={"anonymous_rate_limit_per_minute": limit})
    async with AsyncTestClient(create_app(limited)) as client:
        cred = await _credential(client, tenant.headers, "api_key")
        await publish(services.database_url, tenant.workspace_id, hook_workflow("many"))
        await publish(
            services.database_url,
            tenant.workspace_id,
            hook_workflow("locked", auth="header_token", credentials={"api_key": cred}),
        )
        slot = int(frozen_rate_window // 60)  # the test client's address is shared: start at 0
        peer = Redis.from_url(services.redis_url)
        await peer.delete(f"reporunner:rate:{anon_bucket('testclient')}:{slot}")
        await peer.aclose()
        good = [
            (await client.post(f"/hooks/{tenant.slug}/many", json={})).status_code
            for _ in range(limit * 3)
        ]
        unknown = await client.post(f"/hooks/{tenant.slug}/nope", json={})
        keyed = await client.post(
            f"/hooks/{tenant.slug}/nope", json={}, headers={"Authorization": "Bearer rr_x_y"}
        )
        wrong = await client.post(
            f"/hooks/{tenant.slug}/locked", json={}, headers={"X-Webhook-Token": "nope"}
        )
        refused = await client.post(f"/hooks/{tenant.slug}/many", json={})
    assert good == [202] * (limit * 3)
    assert [unknown.status_code, keyed.status_code, wrong.status_code] == [404, 404, 401]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"
    assert "failed webhook deliveries" in refused.json()["detail"]


async def test_respond_node_mode_answers_with_the_workflows_response(
    services, hook_settings, tenant_factory
) -> None:
    tenant = await tenant_factory()
    wf = await publish(
        services.database_url,
        tenant.workspace_id,
        hook_workflow(
            "ask",
            response_mode="respond_node",
            respond={"respond_with": "json", "status": 201, "body": {"answered": True}},
        ),
    )
    queued = hook_settings.model_copy(
        update={"queue_name": f"hooks:{uuid.uuid4().hex}", "webhook_response_timeout_seconds": 8}
    )
    # the service directly: the test client would block this loop, and the worker with it
    resources = await open_resources(queued)
    worker = build_worker(resources, handle_signals=False)
    running = asyncio.create_task(worker.main())
    delivery = Delivery(
        workspace_slug=tenant.slug,
        path="ask",
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": "same"},
        query={},
        body=b'{"q": 1}',
        content_type="application/json",
    )
    try:
        first = await handle_delivery(resources, delivery, respond_timeout=20)
        again = await handle_delivery(resources, delivery, respond_timeout=20)
        # the run goes on after answering: let it end before the worker stops
        deadline = time.monotonic() + 20
        while any(r.status not in TERMINAL for r in await _executions(services.database_url, wf)):
            assert time.monotonic() < deadline, "the execution never ended"
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        if worker.on_shutdown is not None:  # a cancelled main() skips it
            await worker.on_shutdown(worker.ctx)
        await resources.close()
    assert first.raw
    assert first.status == 201
    assert json.loads(first.body) == {"answered": True}
    assert first.headers["Content-Type"] == "application/json"
    assert (again.status, again.body) == (first.status, first.body)
    [run] = await _executions(services.database_url, wf)  # the duplicate started nothing
    assert run.status == "succeeded"


async def test_respond_node_mode_times_out_without_a_worker(
    services, hook_settings, tenant_factory
) -> None:
    tenant = await tenant_factory()
    await publish(
        services.database_url,
        tenant.workspace_id,
        hook_workflow("slow", response_mode="respond_node", respond={"respond_with": "no_data"}),
    )
    impatient = hook_settings.model_copy(
        update={"webhook_response_timeout_seconds": 0.5, "queue_name": f"none:{uuid.uuid4().hex}"}
    )
    async with AsyncTestClient(create_app(impatient)) as client:
        response = await client.post(f"/hooks/{tenant.slug}/slow", json={})
    assert response.status_code == 504
    assert response.json()["execution_id"]


async def test_a_run_that_ends_without_answering_wakes_its_request(
    services, hook_settings, tenant_factory
) -> None:
    """The worker pushes the wake list when a webhook run ends without an answer (the waiting
    request then answers 502 without polling the row), and does not when it answered."""
    tenant = await tenant_factory()
    await publish(
        services.database_url,
        tenant.workspace_id,
        hook_workflow("mute", response_mode="respond_node"),  # no webhook.respond node
    )
    await publish(
        services.database_url,
        tenant.workspace_id,
        hook_workflow("talks", response_mode="respond_node", respond={"respond_with": "no_data"}),
    )
    queued = hook_settings.model_copy(update={"queue_name": f"hooks:{uuid.uuid4().hex}"})
    resources = await open_resources(queued)
    worker = build_worker(resources, handle_signals=False)
    running = asyncio.create_task(worker.main())

    def delivery(path: str) -> Delivery:
        return Delivery(
            workspace_slug=tenant.slug, path=path, method="POST", headers={}, query={},
            body=b"{}", content_type="application/json",
        )  # fmt: skip

    try:
        with pytest.raises(WebhookNoResponse) as mute:
            await handle_delivery(resources, delivery("mute"), respond_timeout=60)
        answered = await handle_delivery(resources, delivery("talks"), respond_timeout=60)
        talks = await _workflow_of(services.database_url, tenant.workspace_id, "talks")
        rows = await _executions(services.database_url, str(talks))
        deadline = time.monotonic() + 20
        while any(r.status not in TERMINAL for r in rows):
            assert time.monotonic() < deadline, "the execution never ended"
            await asyncio.sleep(0.05)
            rows = await _executions(services.database_url, str(rows[0].workflow_id))
        wake = await resources.redis.lrange(webhook_wake_key(str(rows[0].id)), 0, -1)
        # a run nobody waits for: the worker's push stays in the list
        mute_wf = await _workflow_of(services.database_url, tenant.workspace_id, "mute")
        alone = await start_execution(
            resources, tenant.workspace_id, mute_wf, {"body": {}}, trigger_type="webhook"
        )
        deadline = time.monotonic() + 20  # the push follows the outcome: wait for it
        while not (ended := await resources.redis.lrange(webhook_wake_key(str(alone.id)), 0, -1)):
            assert time.monotonic() < deadline, "nobody pushed the wake list"
            await asyncio.sleep(0.05)
        assert (await execution_now(resources, tenant.workspace_id, alone.id)).status == (
            "succeeded"
        )
    finally:
        await worker.stop(5.0)
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await resources.close()
    assert mute.value.extra["execution_id"]
    assert answered.raw  # the webhook.respond node's answer
    assert answered.status == 200
    assert b"end" not in wake  # it answered: the answer itself woke the request
    assert ended == [b"end"]


async def _workflow_of(database_url: str, workspace_id: uuid.UUID, path: str) -> uuid.UUID:
    from reporunner.platform.db.models import Workflow

    engine = create_engine(database_url, pool_size=1)
    async with session_factory(engine)() as session:
        found = await session.scalar(
            select(Workflow.id).where(
                Workflow.workspace_id == workspace_id, Workflow.name == f"hook {path}"
            )
        )
    await engine.dispose()
    assert found is not None
    return found


async def test_a_configured_body_field_deduplicates_deliveries(
    services, hook_client, tenant_factory
) -> None:
    tenant = await tenant_factory()
    wf = await publish(
        services.database_url,
        tenant.workspace_id,
        hook_workflow("evt", idempotency_field="event_id"),
    )
    first = await hook_client.post(f"/hooks/{tenant.slug}/evt", json={"event_id": "e-1", "n": 1})
    again = await hook_client.post(f"/hooks/{tenant.slug}/evt", json={"event_id": "e-1", "n": 9})
    other = await hook_client.post(f"/hooks/{tenant.slug}/evt", json={"event_id": "e-2"})
    assert {r.status_code for r in (first, again, other)} == {202}
    assert first.json()["execution_id"] == again.json()["execution_id"]
    assert other.json()["execution_id"] != first.json()["execution_id"]
    assert len(await _executions(services.database_url, wf)) == 2
