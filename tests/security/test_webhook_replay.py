"""Finding 9: a signed HMAC webhook could be replayed within its 300 s window.

The attack: the same signed request sent twice within the tolerance started two executions.
Now a signed delivery's signature is its idempotency key: the replay is answered like a
duplicate (the original's execution, nothing new started); after the tolerance the timestamp
check refuses it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text

from reporunner.nodes.builtin.trigger_webhook import webhook_signature
from reporunner.nodes.registry import default_registry
from reporunner.platform.api.app import create_app
from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.session import create_engine, session_factory, transaction
from reporunner.platform.settings import load_settings
from reporunner.platform.workflows import create_workflow

SECRET = "replay-secret-" + "r" * 20


async def test_a_replayed_signed_delivery_starts_nothing_new(services: Any) -> None:
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        queue_name=f"sec:replay:{uuid.uuid4().hex}",
    )
    engine = create_engine(services.database_url, pool_size=1)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        slug = f"sec-{uuid.uuid4().hex[:10]}"
        ws, _user, key = await create_workspace_with_owner(
            session, slug=slug, email=f"{slug}@example.test"
        )
    headers = {"Authorization": f"Bearer {key.plaintext}"}
    try:
        async with AsyncTestClient(create_app(settings)) as client:
            made = await client.post(
                "/credentials",
                json={"name": "hmac", "type": "hmac_secret", "data": {"secret": SECRET}},
                headers=headers,
            )
            assert made.status_code == 201, made.text
            definition = {
                "name": "signed",
                "nodes": [
                    {
                        "id": "hook",
                        "type": "trigger.webhook",
                        "params": {"path": "paid", "auth": "hmac"},
                        "credentials": {"hmac_secret": made.json()["id"]},
                    }
                ],
                "edges": [],
            }
            async with transaction(sessions) as session:
                wf, _ = await create_workflow(
                    session, ws.id, definition, default_registry(), publish=True
                )
            body = b'{"paid": true}'
            stamp = int(time.time())
            signed = {
                "Content-Type": "application/json",
                "X-Timestamp": str(stamp),
                "X-Signature": webhook_signature(SECRET, stamp, body),
            }
            first = await client.post(f"/hooks/{slug}/paid", content=body, headers=signed)
            replay = await client.post(f"/hooks/{slug}/paid", content=body, headers=signed)
            assert first.status_code == 202, first.text
            assert replay.status_code == 202, replay.text
            assert replay.json()["execution_id"] == first.json()["execution_id"]
            # a new signature (a new request) is a new execution
            later = stamp + 1
            fresh = {
                **signed,
                "X-Timestamp": str(later),
                "X-Signature": webhook_signature(SECRET, later, body),
            }
            second = await client.post(f"/hooks/{slug}/paid", content=body, headers=fresh)
            assert second.json()["execution_id"] != first.json()["execution_id"]
        async with engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM executions WHERE workflow_id = :wf"), {"wf": wf.id}
            )
        assert count == 2  # the replay started nothing
    finally:
        await engine.dispose()
