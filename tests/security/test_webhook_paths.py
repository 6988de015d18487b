"""Findings 8 and 12: webhook paths and misconfigured webhook triggers.

8: a second published workflow could claim an existing webhook path; the real sender then got
409 and its detail showed both internal workflow ids to the anonymous caller. Now publishing
the second one is refused (409 to the editor, naming the other workflow), and a clash left in
older data answers callers without ids.
12: a ``header_token`` webhook without a credential answered anonymous callers 500 with a
detail about its configuration. Now validation refuses such a workflow, and one left in older
data answers 503 without detail.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from reporunner.nodes.errors import ConflictError, ValidationFailed
from reporunner.nodes.registry import default_registry
from reporunner.platform.api.app import create_app
from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.models.workflows import WorkflowVersion
from reporunner.platform.db.session import create_engine, session_factory, transaction
from reporunner.platform.settings import load_settings
from reporunner.platform.webhooks.lookup import find_target
from reporunner.platform.workflows import create_workflow, publish_version

REGISTRY = default_registry()


def _hook(path: str, method: str = "POST", **params: Any) -> dict[str, Any]:
    return {
        "name": f"hook {path}",
        "nodes": [
            {
                "id": "hook",
                "type": "trigger.webhook",
                "params": {"path": path, "method": method, **params},
            }
        ],
        "edges": [],
    }


async def _create(sessions: Any, *args: Any, **kwargs: Any) -> Any:
    async with transaction(sessions) as session:
        return await create_workflow(session, *args, **kwargs)


async def _publish(sessions: Any, *args: Any) -> Any:
    async with transaction(sessions) as session:
        return await publish_version(session, *args)


@pytest.fixture
async def workspace(services: Any) -> Any:
    engine = create_engine(services.database_url, pool_size=2)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        slug = f"sec-{uuid.uuid4().hex[:10]}"
        ws, _user, _key = await create_workspace_with_owner(
            session, slug=slug, email=f"{slug}@example.test"
        )
    yield sessions, ws
    await engine.dispose()


async def test_a_second_workflow_cannot_claim_a_published_path(workspace: Any) -> None:
    sessions, ws = workspace
    first, _ = await _create(sessions, ws.id, _hook("orders"), REGISTRY, publish=True)
    with pytest.raises(ConflictError, match=f"POST /orders \\(workflow {first.id}\\)"):
        await _create(sessions, ws.id, _hook("orders"), REGISTRY, publish=True)
    # saved unpublished it is fine; publishing it is refused the same way
    second, _ = await _create(sessions, ws.id, _hook("orders"), REGISTRY)
    with pytest.raises(ConflictError, match="already listens"):
        await _publish(sessions, ws.id, second.id, 1)
    # another method on the same path is another webhook
    await _create(sessions, ws.id, _hook("orders", "PUT"), REGISTRY, publish=True)
    # a clash left in older data: the anonymous caller learns no workflow ids
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE workflows SET published_version_id = "
                "(SELECT id FROM workflow_versions WHERE workflow_id = :wf) WHERE id = :wf"
            ),
            {"wf": second.id},
        )
    async with sessions() as session:
        with pytest.raises(ConflictError) as caught:
            await find_target(session, ws.slug, "orders", "POST")
    assert str(first.id) not in caught.value.detail
    assert str(second.id) not in caught.value.detail


async def test_header_token_webhook_without_credential(services: Any, workspace: Any) -> None:
    sessions, ws = workspace
    with pytest.raises(ValidationFailed) as refused:
        await _create(
            sessions, ws.id, _hook("tokened", auth="header_token"), REGISTRY, publish=True
        )
    assert [p["code"] for p in refused.value.problems] == ["missing_credential"]
    # one left in older data (saved before this check): callers get 503, no detail
    made, _ = await _create(sessions, ws.id, _hook("tokened"), REGISTRY, publish=True)
    async with sessions() as session, session.begin():
        old = WorkflowVersion(
            workspace_id=ws.id,
            workflow_id=made.id,
            number=2,
            definition=_hook("tokened", auth="header_token"),
            content_hash="0" * 64,
            note="saved before the check",
        )
        session.add(old)
        await session.flush()
        await session.execute(
            text("UPDATE workflows SET published_version_id = :v WHERE id = :wf"),
            {"v": old.id, "wf": made.id},
        )
    settings = load_settings(database_url=services.database_url, redis_url=services.redis_url)
    async with AsyncTestClient(create_app(settings)) as client:
        answer = await client.post(f"/hooks/{ws.slug}/tokened", json={"x": 1})
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "webhook_unavailable"
    for secret_ish in ("credential", "api_key", "header_token", str(made.id)):
        assert secret_ish not in answer.text
