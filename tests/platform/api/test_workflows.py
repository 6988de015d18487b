"""``/workflows`` on the real services: 422 with every problem, immutable versions, publish,
dry-run validation, archive/delete, roles, and 404 for another workspace's workflow."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.settings import Settings


def definition(name: str = "greet", value: str = "hello") -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "set",
                "type": "data.set",
                "params": {"fields": [{"name": "greeting", "value": value}]},
            },
        ],
        "edges": [{"source": "start", "target": "set"}],
    }


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    queue = f"test:wf:{uuid.uuid4().hex}"
    app = create_app(settings.model_copy(update={"queue_name": queue}))
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def _create(api: AsyncTestClient, headers: dict[str, str], body: Any = None) -> dict:
    response = await api.post(
        "/workflows", content=json.dumps(body or definition()), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_invalid_definition_is_422_listing_every_problem(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    bad = {
        "name": "broken",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "fetch", "type": "http.reqest"},
            {"id": "set", "type": "data.set", "params": {"fields": "nope"}},
            {"id": "lonely", "type": "logic.noop"},
        ],
        "edges": [
            {"source": "start", "target": "set"},
            {"source": "start", "target": "ghost"},
            {"source": "set", "source_port": "nowhere", "target": "fetch"},
        ],
    }
    response = await api.post("/workflows", content=json.dumps(bad), headers=tenant.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    found = {(p["pointer"], p["code"]) for p in body["problems"]}
    assert ("/nodes/1/type", "unknown_node_type") in found
    assert ("/nodes/2/params/fields", "invalid_params") in found
    assert ("/edges/1/target", "dangling_edge") in found
    assert ("/edges/2/source_port", "unknown_port") in found
    assert ("/nodes/3", "unreachable_node") in found
    assert all(p["message"] for p in body["problems"])
    assert "http.request" in next(
        p["message"] for p in body["problems"] if p["pointer"] == "/nodes/1/type"
    )
    listed = await api.get("/workflows", headers=tenant.headers)
    assert listed.json() == []


async def test_shape_errors_and_bad_syntax_are_422_too(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    response = await api.post(
        "/workflows",
        content=json.dumps({"nodes": [{"id": "1x", "kind": "?"}]}),
        headers=tenant.headers,
    )
    assert response.status_code == 422
    pointers = {p["pointer"] for p in response.json()["problems"]}
    assert {"/name", "/nodes/0/id", "/nodes/0/type", "/nodes/0/kind"} <= pointers
    response = await api.post("/workflows", content="name: [unclosed", headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["problems"][0]["code"] == "syntax_error"


async def test_yaml_definitions_are_accepted(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    text = """
name: from yaml
nodes:
  - id: start
    type: trigger.manual
edges: []
"""
    headers = {**tenant.headers, "Content-Type": "application/yaml"}
    response = await api.post("/workflows", content=text, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["workflow"]["name"] == "from yaml"
    assert created["version"]["definition"]["nodes"][0]["type"] == "trigger.manual"


async def test_versions_are_immutable_and_one_is_published(api, tenant_factory, services) -> None:
    tenant = await tenant_factory(role="editor")
    created = await _create(api, tenant.headers)
    wf_id = created["workflow"]["id"]
    v1 = created["version"]
    assert (v1["number"], v1["created"], v1["published"]) == (1, True, False)
    same = await api.post(
        f"/workflows/{wf_id}/versions", content=json.dumps(definition()), headers=tenant.headers
    )
    assert same.status_code == 200
    assert (same.json()["id"], same.json()["created"]) == (v1["id"], False)
    changed = await api.post(
        f"/workflows/{wf_id}/versions?note=louder",
        content=json.dumps(definition(value="HELLO")),
        headers=tenant.headers,
    )
    assert changed.status_code == 201
    v2 = changed.json()
    assert (v2["number"], v2["note"]) == (2, "louder")
    assert v2["content_hash"] != v1["content_hash"]
    listed = (await api.get(f"/workflows/{wf_id}/versions", headers=tenant.headers)).json()
    assert [v["number"] for v in listed] == [2, 1]
    published = await api.post(f"/workflows/{wf_id}/versions/1/publish", headers=tenant.headers)
    assert published.status_code == 200
    assert published.json()["published_version"] == 1
    assert published.json()["latest_version"] == 2
    got = (await api.get(f"/workflows/{wf_id}/versions/1", headers=tenant.headers)).json()
    assert got["published"] is True
    assert got["definition"]["nodes"][1]["params"]["fields"][0]["value"] == "hello"
    missing = await api.get(f"/workflows/{wf_id}/versions/9", headers=tenant.headers)
    assert missing.status_code == 404
    # the database itself refuses to change a saved version
    with psycopg.connect(services.pg_dsn) as conn, pytest.raises(psycopg.Error):
        conn.execute("UPDATE workflow_versions SET note = 'edited' WHERE id = %s", (v1["id"],))


async def test_validate_is_a_dry_run(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="viewer")
    ok = await api.post(
        "/workflows/validate", content=json.dumps(definition()), headers=tenant.headers
    )
    assert ok.status_code == 200
    assert ok.json()["valid"] is True
    assert len(ok.json()["content_hash"]) == 64
    broken = definition()
    broken["edges"].append({"source": "set", "target": "start"})
    bad = await api.post("/workflows/validate", content=json.dumps(broken), headers=tenant.headers)
    assert bad.status_code == 200
    codes = {p["code"] for p in bad.json()["problems"]}
    assert bad.json()["valid"] is False
    assert {"unknown_port", "unclosed_cycle"} & codes
    assert (await api.get("/workflows", headers=tenant.headers)).json() == []


async def test_viewers_read_editors_write(api, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    created = await _create(api, editor.headers)
    viewer = await tenant_factory(role="viewer")
    response = await api.post(
        "/workflows", content=json.dumps(definition()), headers=viewer.headers
    )
    assert response.status_code == 403
    assert "editor" in response.json()["detail"]
    # the viewer's own workspace has nothing; the editor's workflow is invisible to it
    assert (await api.get("/workflows", headers=viewer.headers)).json() == []
    own = (await api.get(f"/workflows/{created['workflow']['id']}", headers=editor.headers)).json()
    assert own["latest_version"] == 1


async def test_archive_hides_and_refuses_runs_and_delete_removes(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    wf_id = (await _create(api, tenant.headers))["workflow"]["id"]
    archived = await api.post(f"/workflows/{wf_id}/archive", headers=tenant.headers)
    assert archived.json()["archived"] is True
    assert (await api.get("/workflows", headers=tenant.headers)).json() == []
    every = (await api.get("/workflows?archived=true", headers=tenant.headers)).json()
    assert [w["id"] for w in every] == [wf_id]
    run = await api.post(f"/workflows/{wf_id}/executions", json={}, headers=tenant.headers)
    assert run.status_code == 409
    assert "archived" in run.json()["detail"]
    await api.post(f"/workflows/{wf_id}/unarchive", headers=tenant.headers)
    queued = await api.post(f"/workflows/{wf_id}/executions", json={}, headers=tenant.headers)
    assert queued.json()["status"] == "queued"  # no worker in this test
    refused = await api.delete(f"/workflows/{wf_id}", headers=tenant.headers)
    assert refused.status_code == 409
    assert "cancel" in refused.json()["detail"]
    listed = (await api.get(f"/executions?workflow_id={wf_id}", headers=tenant.headers)).json()
    assert [e["id"] for e in listed["items"]] == [queued.json()["id"]]
    cancel = await api.post(
        f"/executions/{listed['items'][0]['id']}/cancel", headers=tenant.headers
    )
    assert cancel.json()["status"] == "cancelled"
    assert (await api.delete(f"/workflows/{wf_id}", headers=tenant.headers)).status_code == 204
    assert (await api.get(f"/workflows/{wf_id}", headers=tenant.headers)).status_code == 404


async def test_another_workspace_gets_404_on_every_workflow_route(api, tenant_factory) -> None:
    owner = await tenant_factory(role="owner")
    wf_id = (await _create(api, owner.headers))["workflow"]["id"]
    other = await tenant_factory(role="owner")
    body = json.dumps(definition())
    calls = [
        ("GET", f"/workflows/{wf_id}", None),
        ("DELETE", f"/workflows/{wf_id}", None),
        ("POST", f"/workflows/{wf_id}/archive", None),
        ("POST", f"/workflows/{wf_id}/unarchive", None),
        ("POST", f"/workflows/{wf_id}/versions", body),
        ("GET", f"/workflows/{wf_id}/versions", None),
        ("GET", f"/workflows/{wf_id}/versions/1", None),
        ("POST", f"/workflows/{wf_id}/versions/1/publish", None),
        ("POST", f"/workflows/{wf_id}/executions", "{}"),
    ]
    for method, path, content in calls:
        response = await api.request(method, path, content=content, headers=other.headers)
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert wf_id not in json.dumps(response.json().get("workflow", ""))
    still = await api.get(f"/workflows/{wf_id}", headers=owner.headers)
    assert still.json()["archived"] is False
