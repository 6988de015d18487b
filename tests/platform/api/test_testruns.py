"""``POST /workflows/{id}/tests/run`` through a real arq worker on the real Postgres and Redis:
results stored with the version, failures explained, the publish gate, roles, other
workspaces, and bad requests answered 4xx naming the field."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from worker_testkit import ThreadWorker

from reporunner.platform.api.app import create_app
from reporunner.platform.settings import Settings

FLOW: dict[str, Any] = {
    "name": "tested",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "fetch", "type": "http.request", "params": {"url": "http://127.0.0.1:9/user"}},
        {
            "id": "greet",
            "type": "data.set",
            "params": {
                "fields": [
                    {"name": "greeting", "value": "Hello {{ nodes.fetch.output.body.name }}"}
                ]
            },
        },
    ],
    "edges": [{"source": "start", "target": "fetch"}, {"source": "fetch", "target": "greet"}],
    "tests": [
        {
            "name": "greets Ada",
            "pinned": {"fetch": {"main": [{"body": {"name": "Ada"}}]}},
            "assertions": [{"check": "equals", "path": "0.greeting", "expected": "Hello Ada"}],
        },
        {
            "name": "greets Bob",
            "pinned": {"fetch": {"main": [{"body": {"name": "Bob"}}]}},
            "assertions": [{"check": "contains", "path": "0.greeting", "expected": "Bob"}],
        },
    ],
}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The app and a worker of this test's own queue (on its own thread: the test client
    blocks this loop while a request waits)."""
    tuned = settings.model_copy(update={"queue_name": f"test:tests:{uuid.uuid4().hex}"})
    with ThreadWorker(tuned):
        async with AsyncTestClient(create_app(tuned)) as client:
            yield client


async def _create(api: AsyncTestClient, headers: dict[str, str], flow: dict[str, Any]) -> str:
    response = await api.post("/workflows", content=json.dumps(flow), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["workflow"]["id"])


async def _run(
    api: AsyncTestClient, headers: dict[str, str], wf: str, body: Any = None
) -> dict[str, Any]:
    response = await api.post(
        f"/workflows/{wf}/tests/run?wait=true&timeout=120", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    out = dict(response.json())
    assert out["status"] not in ("queued", "running"), out
    return out


async def test_a_test_run_passes_on_a_worker_and_is_stored_with_its_version(
    api, tenant_factory
) -> None:
    editor = await tenant_factory(role="editor")
    wf = await _create(api, editor.headers, FLOW)
    out = await _run(api, editor.headers, wf)
    assert out["status"] == "passed", out
    assert out["version"] == 1
    assert out["report"]["total"] == 2
    assert [c["name"] for c in out["report"]["cases"]] == ["greets Ada", "greets Bob"]
    assert all(c["passed"] for c in out["report"]["cases"])
    listed = await api.get(f"/workflows/{wf}/tests/runs", headers=editor.headers)
    assert [r["id"] for r in listed.json()] == [out["id"]]
    one = await api.get(f"/workflows/{wf}/tests/runs/{out['id']}", headers=editor.headers)
    assert one.json()["report"] == out["report"]


async def test_a_failing_case_fails_the_run_and_says_why(api, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    flow = copy.deepcopy(FLOW)
    flow["tests"][1]["assertions"][0]["expected"] = "Carol"
    wf = await _create(api, editor.headers, flow)
    out = await _run(api, editor.headers, wf, {"cases": ["greets Bob"]})
    assert out["status"] == "failed"
    assert out["cases"] == ["greets Bob"]
    (case,) = out["report"]["cases"]
    assert case["assertions"][0]["message"] == (
        "final items.0.greeting does not contain 'Carol': 'Hello Bob'"
    )


async def test_publishing_can_require_passing_tests(api, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    flow = {**copy.deepcopy(FLOW), "settings": {"require_passing_tests": True}}
    wf = await _create(api, editor.headers, flow)
    refused = await api.post(f"/workflows/{wf}/versions/1/publish", headers=editor.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "tests_required"
    assert "tests/run" in refused.json()["detail"]
    # a run of some of the cases is not enough
    assert (await _run(api, editor.headers, wf, {"cases": ["greets Ada"]}))["status"] == "passed"
    again = await api.post(f"/workflows/{wf}/versions/1/publish", headers=editor.headers)
    assert again.status_code == 409
    assert (await _run(api, editor.headers, wf))["status"] == "passed"
    published = await api.post(f"/workflows/{wf}/versions/1/publish", headers=editor.headers)
    assert published.status_code == 200, published.text


async def test_bad_requests_name_the_field(api, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    wf = await _create(api, editor.headers, FLOW)
    unknown = await api.post(
        f"/workflows/{wf}/tests/run", json={"cases": ["nope"]}, headers=editor.headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["problems"][0]["pointer"] == "/cases"
    assert "greets Ada" in unknown.json()["detail"]
    typed = await api.post(
        f"/workflows/{wf}/tests/run", json={"cases": "x"}, headers=editor.headers
    )
    assert typed.status_code == 400, typed.text
    assert "cases" in typed.text
    no_version = await api.post(
        f"/workflows/{wf}/tests/run", json={"version": 9}, headers=editor.headers
    )
    assert no_version.status_code == 404
    plain = {k: v for k, v in FLOW.items() if k != "tests"}
    untested = await _create(api, editor.headers, plain)
    none = await api.post(f"/workflows/{untested}/tests/run", headers=editor.headers)
    assert none.status_code == 422
    assert none.json()["problems"][0]["code"] == "no_test_cases"
    invalid = {**FLOW, "tests": [{"name": "x", "pinned": {"ghost": {"main": []}}}]}
    refused = await api.post("/workflows", content=json.dumps(invalid), headers=editor.headers)
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["pointer"] == "/tests/0/pinned/ghost"


async def test_roles_and_other_workspaces(api, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    wf = await _create(api, editor.headers, FLOW)
    out = await _run(api, editor.headers, wf)
    viewer = await tenant_factory(role="viewer")
    stranger = await tenant_factory(role="owner")
    # a viewer of another workspace, and an owner of another workspace, see nothing of it
    for tenant in (viewer, stranger):
        runs = await api.get(f"/workflows/{wf}/tests/runs", headers=tenant.headers)
        assert runs.status_code == 404
        one = await api.get(f"/workflows/{wf}/tests/runs/{out['id']}", headers=tenant.headers)
        assert one.status_code == 404
    forbidden = await api.post(f"/workflows/{wf}/tests/run", headers=viewer.headers)
    assert forbidden.status_code == 403
    elsewhere = await api.post(f"/workflows/{wf}/tests/run", headers=stranger.headers)
    assert elsewhere.status_code == 404
