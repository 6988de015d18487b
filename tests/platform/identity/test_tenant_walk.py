"""Generic walks over the app's route table: other workspaces' ids, and viewers writing.

Both tests enumerate ``app.routes``, so a route added later is walked too: a new path parameter
needs a row in ``fill_workspace`` (the test says so), a new write route needs nothing.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import Any

import pytest
from identity_testkit import MINIMAL_DEFINITION, fill_workspace
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from reporunner.platform.api.app import create_app
from reporunner.platform.db.models import ApiKey, Membership, Workflow, Workspace
from reporunner.platform.db.session import create_engine, session_factory

# /auth/*: sign-in, set-up and invitation links act on their token, not on a role;
# /public/widgets/*: visitors of a widget, by its public id and origin (test_widgets_hostile.py)
PUBLIC_PREFIXES = (
    "/healthz", "/readyz", "/docs", "/hooks/", "/metrics", "/auth/", "/assets", "/public/",
)  # fmt: skip
# instance-wide, no tenant rows: SSO providers (instance admins only, test_sso.py)
INSTANCE_PREFIXES = ("/sso/",)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")

# bodies that pass validation, so that a 404 proves the id check (not a body error)
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/credentials/{credential_id:uuid}"): {"name": "renamed"},
    ("PATCH", "/knowledge-bases/{kb_id:uuid}"): {"name": "renamed"},
    ("POST", "/knowledge-bases/{kb_id:uuid}/reembed"): {
        "embedding_model": "fake",
        "embedding_dim": 8,
    },
    ("POST", "/knowledge-bases/{kb_id:uuid}/search"): {"query": "anything"},
    ("POST", "/knowledge-bases/{kb_id:uuid}/documents"): {"text": "hello", "name": "a.txt"},
    ("POST", "/workflows/{workflow_id:uuid}/versions"): MINIMAL_DEFINITION,
    ("POST", "/executions/{execution_id:uuid}/resume"): {"payload": {"approved": True}},
    ("PATCH", "/workspace/members/{user_id:uuid}"): {"role": "viewer"},
    ("POST", "/chats/{chat_id:uuid}/messages"): {"content": "hello"},
    ("PATCH", "/schedules/{schedule_id:uuid}"): {"missed_policy": "run_once"},
    ("PATCH", "/mcp-servers/{server_id:uuid}"): {"description": "renamed"},
    ("PATCH", "/widgets/{widget_id:uuid}"): {"greeting": "changed"},
    ("PATCH", "/workspaces/{workspace_id:uuid}"): {"name": "renamed"},
    ("DELETE", "/workspaces/{workspace_id:uuid}"): {"confirm": "anything"},
    ("POST", "/workflows/{workflow_id:uuid}/copilot/threads/{thread_id:uuid}/messages"): {
        "message": "add a node"
    },
    ("POST", "/workflows/{workflow_id:uuid}/edit"): {"instruction": "add a node"},
    ("POST", "/workflows/{workflow_id:uuid}/preview"): {"node_id": "start", "params": {}},
    ("POST", "/workflows/{workflow_id:uuid}/patch"): {
        "base_version": 1,
        "patch": [{"op": "replace", "path": "/name", "value": "x"}],
    },
}

# writes a viewer may make: dry runs and reads sent as POST, and their own API keys
VIEWER_MAY = {
    ("POST", "/workflows/validate"),
    ("POST", "/knowledge-bases/{kb_id:uuid}/search"),
    ("POST", "/workflows/{workflow_id:uuid}/preview"),  # renders, changes nothing
    ("POST", "/api-keys"),
    ("POST", "/api-keys/{key_id:uuid}/revoke"),
    ("POST", "/workspaces"),  # any signed-in user creates a workspace (test_workspaces.py)
}


def _fill(path: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in ids, (
            f"route parameter '{name}' in {path} has no row of the other workspace: add one "
            "to fill_workspace() in tests/platform/identity/identity_testkit.py"
        )
        return ids[name]

    return PARAM.sub(value, path)


def _routes(app: Any) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if route.path.startswith(PUBLIC_PREFIXES) or route.path.startswith("/test/"):
            continue
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            found.append((method, route.path))
    return found


async def _made_through_the_api(client: AsyncTestClient, maker: Any) -> Any:
    """A workspace that ``maker`` creates with POST /workspaces, as a tenant with its key."""
    slug = f"api-{uuid.uuid4().hex[:10]}"
    made = await client.post("/workspaces", json={"slug": slug}, headers=maker.headers)
    assert made.status_code == 201, made.text
    ws = made.json()["workspace"]
    return dataclasses.replace(
        maker, workspace_id=uuid.UUID(ws["id"]), slug=slug, key=made.json()["key"]
    )


@pytest.mark.parametrize("made_by", ["first start", "POST /workspaces"])
async def test_ids_of_another_workspace_are_not_found_on_every_route(
    services, settings, tenant_factory, made_by
) -> None:
    a, b = await tenant_factory(role="owner"), await tenant_factory(role="owner")
    app = create_app(settings)
    walked = []
    async with AsyncTestClient(app) as client:
        if made_by == "POST /workspaces":
            a, b = await _made_through_the_api(client, a), await _made_through_the_api(client, b)
        rows = await fill_workspace(services.database_url, b.workspace_id, b.user_id)
        for method, path in _routes(app):
            if ":uuid}" not in path or path.startswith(INSTANCE_PREFIXES):
                continue  # ids are uuids; other params (and instance-wide rows) are no tenant's
            url = _fill(path, rows.ids)
            body = BODIES.get((method, path))
            response = await client.request(
                method,
                url,
                headers=a.headers,
                content=None if body is None else json.dumps(body).encode(),
            )
            assert response.status_code == 404, (
                f"{method} {path} with workspace B's ids answered {response.status_code} to "
                f"workspace A: {response.text[:300]}"
            )
            for secret in ("b-workflow", "b-kb", "b.txt", "b-cred", "b-chat", "b-memory", b.slug):
                assert secret not in response.text, f"{method} {path} leaked {secret!r}"
            walked.append(f"{method} {path}")
    assert "DELETE /workflows/{workflow_id:uuid}" in walked
    assert "DELETE /workspace/members/{user_id:uuid}" in walked
    assert "POST /api-keys/{key_id:uuid}/revoke" in walked
    assert "PATCH /schedules/{schedule_id:uuid}" in walked
    assert "DELETE /widgets/{widget_id:uuid}" in walked
    assert "DELETE /workspaces/{workspace_id:uuid}" in walked
    assert "PATCH /workspaces/{workspace_id:uuid}" in walked
    # and nothing of B changed
    engine = create_engine(services.database_url, pool_size=1)
    async with session_factory(engine)() as session:
        wf = await session.get(Workflow, rows.ids["workflow_id"])
        key = await session.scalar(select(ApiKey).where(ApiKey.workspace_id == b.workspace_id))
        member = await session.scalar(
            select(Membership).where(Membership.workspace_id == b.workspace_id)
        )
    await engine.dispose()
    assert wf is not None
    assert wf.archived_at is None
    assert key is not None
    assert key.revoked_at is None
    assert member is not None
    assert member.role == "owner"
    async with session_factory(engine)() as session:
        workspace = await session.get(Workspace, b.workspace_id)
    await engine.dispose()
    assert workspace is not None
    assert workspace.name == b.slug


async def test_filters_naming_another_workspace_return_nothing(
    services, settings, tenant_factory
) -> None:
    a, b = await tenant_factory(), await tenant_factory()
    rows = await fill_workspace(services.database_url, b.workspace_id, b.user_id)
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get(
            "/executions", params={"workflow_id": rows.ids["workflow_id"]}, headers=a.headers
        )
    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_a_viewer_is_refused_every_write(settings, tenant_factory) -> None:
    viewer = await tenant_factory(role="viewer")
    app = create_app(settings)
    refused = []
    async with AsyncTestClient(app) as client:
        for method, path in _routes(app):
            if method not in WRITES or (method, path) in VIEWER_MAY:
                continue
            url = PARAM.sub(
                lambda m: "1" if m.group(2) == "int" else "00000000-0000-0000-0000-000000000001",
                path,
            )
            body = BODIES.get((method, path), {})
            response = await client.request(
                method, url, headers=viewer.headers, content=json.dumps(body).encode()
            )
            assert response.status_code == 403, (
                f"a viewer's {method} {path} answered {response.status_code}"
            )
            refused.append(f"{method} {path}")
    assert "POST /workflows" in refused
    assert "POST /credentials" in refused
    assert "POST /workspace/members" in refused
