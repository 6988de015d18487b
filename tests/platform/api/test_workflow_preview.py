"""``POST /workflows/{id}/preview``: a node's ``{{ expressions }}`` rendered by the engine's
sandbox with the data of the workflow's latest run; failures are per line; nothing runs."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import preview

DEFINITION: dict[str, Any] = {
    "name": "greet",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {
            "id": "set",
            "type": "data.set",
            "params": {"fields": [{"name": "greeting", "value": "hello {{ item.who }}"}]},
        },
    ],
    "edges": [{"source": "start", "target": "set"}],
    "settings": {"vars": {"team": "core"}},
}


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[tuple[AsyncTestClient, Resources]]:
    tuned = settings.model_copy(update={"queue_name": f"test:preview:{uuid.uuid4().hex}"})
    resources = await open_resources(tuned)
    try:
        async with AsyncTestClient(create_app(tuned)) as client:
            yield client, resources
    finally:
        await resources.close()


async def _workflow(client: AsyncTestClient, headers: dict[str, str]) -> str:
    made = await client.post("/workflows", content=json.dumps(DEFINITION), headers=headers)
    assert made.status_code == 201, made.text
    return str(made.json()["workflow"]["id"])


async def _run(client: AsyncTestClient, resources: Resources, headers: dict[str, str], wf: str):
    started = await client.post(
        f"/workflows/{wf}/executions", json={"input": {"who": "Ada", "n": 3}}, headers=headers
    )
    assert started.status_code == 201, started.text
    await build_worker(resources, burst=True, handle_signals=False).main()
    done = (await client.get(f"/executions/{started.json()['id']}", headers=headers)).json()
    assert done["status"] == "succeeded", done
    return str(done["id"])


async def test_preview_renders_with_the_latest_run(app, tenant_factory) -> None:
    client, resources = app
    tenant = await tenant_factory(role="editor")
    wf = await _workflow(client, tenant.headers)
    params = {
        "fields": [{"name": "g", "value": "{{ item.who | upper }}"}],
        "count": "{{ item.n * 2 }}",
        "first": "{{ nodes.start.output }}",
        "team": "team {{ vars.team }}",
        "who": "{{ trigger.who }}",
        "plain": "no expression here",
        "missing": "{{ item.whom }}",
        "dunder": "{{ item.__class__ }}",
        "huge": "{{ 'x' * 100000000 }}",
    }
    body = {"node_id": "set", "type": "data.set", "params": params}

    before = await client.post(f"/workflows/{wf}/preview", json=body, headers=tenant.headers)
    assert before.status_code == 200, before.text
    assert before.json()["execution_id"] is None
    assert all("not run yet" in v["error"] for v in before.json()["values"])

    execution_id = await _run(client, resources, tenant.headers, wf)
    answer = await client.post(f"/workflows/{wf}/preview", json=body, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["execution_id"] == execution_id
    by = {v["pointer"]: v for v in out["values"]}
    assert set(by) == {
        "/fields/0/value", "/count", "/first", "/team", "/who", "/missing", "/dunder", "/huge"
    }  # fmt: skip
    assert by["/fields/0/value"]["value"] == "ADA"
    assert by["/count"]["value"] == 6  # a lone expression keeps its native type
    assert by["/first"]["value"] == {"who": "Ada", "n": 3}
    assert by["/team"]["value"] == "team core"
    assert by["/who"]["value"] == "Ada"
    assert by["/fields/0/value"]["error"] is None
    assert "whom" in by["/missing"]["error"]
    assert "who" in by["/missing"]["error"]  # the close key is suggested
    assert by["/dunder"]["error"]
    assert by["/dunder"]["value"] is None
    assert by["/huge"]["error"]
    # a named execution works too, and the literal params of a type are never rendered
    literal = {
        "node_id": "start", "type": "trigger.manual", "execution_id": execution_id,
        "params": {"input_schema": {"title": "{{ item.who }}"}},
    }  # fmt: skip
    named = await client.post(f"/workflows/{wf}/preview", json=literal, headers=tenant.headers)
    assert named.status_code == 200, named.text
    assert named.json() == {"execution_id": execution_id, "values": []}


async def test_preview_refuses_what_is_not_yours_or_malformed(app, tenant_factory) -> None:
    client, resources = app
    tenant = await tenant_factory(role="editor")
    other = await tenant_factory(role="owner")
    wf = await _workflow(client, tenant.headers)
    theirs = await _workflow(client, other.headers)
    their_run = await _run(client, resources, other.headers, theirs)
    body = {"node_id": "set", "params": {"a": "{{ trigger }}"}}

    # another workspace's workflow, or its execution, is 404 (no data leaks into the preview)
    assert (
        await client.post(f"/workflows/{theirs}/preview", json=body, headers=tenant.headers)
    ).status_code == 404
    cross = await client.post(
        f"/workflows/{wf}/preview",
        json={**body, "execution_id": their_run},
        headers=tenant.headers,
    )
    assert cross.status_code == 404
    assert cross.json()["detail"].startswith("execution_id:")
    # malformed bodies name the field
    for bad, field in [
        ({"node_id": "set", "params": "{{ trigger }}"}, "params"),
        ({"params": {}}, "node_id"),
        ({**body, "execution_id": "nope"}, "execution_id"),
        ({**body, "sneaky": True}, "sneaky"),
    ]:
        refused = await client.post(f"/workflows/{wf}/preview", json=bad, headers=tenant.headers)
        assert refused.status_code == 400, refused.text
        assert field in refused.text
    many = {"node_id": "set", "params": {"a": ["{{ item }}"] * 201}}
    too_many = await client.post(f"/workflows/{wf}/preview", json=many, headers=tenant.headers)
    assert too_many.status_code == 422
    assert too_many.json()["problems"][0]["pointer"] == "/params"
    anonymous = await client.post(f"/workflows/{wf}/preview", json=body)
    assert anonymous.status_code == 401


async def test_one_preview_shares_one_render_budget(app, tenant_factory, monkeypatch) -> None:
    """Each line renders on its own, but all of them share the run's render budget: with it
    used up, lines are answered with an error instead of rendered (no 200 x 2 s requests)."""
    client, resources = app
    tenant = await tenant_factory(role="editor")
    wf = await _workflow(client, tenant.headers)
    await _run(client, resources, tenant.headers, wf)
    monkeypatch.setattr(preview, "PREVIEW_SECONDS", 0.0)
    body = {"node_id": "set", "params": {"a": "{{ trigger.who }}", "b": ["{{ vars.team }}"]}}
    answer = await client.post(f"/workflows/{wf}/preview", json=body, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    values = answer.json()["values"]
    assert [v["pointer"] for v in values] == ["/a", "/b/0"]
    assert all("used its 0 s of render time" in v["error"] for v in values), values


async def test_preview_bounds_the_draft_it_is_sent(app, tenant_factory) -> None:
    """The editor sends the node's unsaved params; what a client sends is bounded: a body past
    the route's limit is 413, params nested deeper than the engine walks are 422 on ``/params``
    (never a 500 from a recursion), and a draft param is what renders (not the saved one)."""
    client, resources = app
    tenant = await tenant_factory(role="editor")
    wf = await _workflow(client, tenant.headers)
    await _run(client, resources, tenant.headers, wf)
    draft = {
        "node_id": "set",
        "type": "data.set",
        "params": {"fields": [{"value": "{{ item.n + 1 }}"}]},
    }
    answer = await client.post(f"/workflows/{wf}/preview", json=draft, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    assert (
        answer.json()["values"][0]["value"] == 4
    )  # the draft, not the saved "hello {{ item.who }}"

    huge = {"node_id": "set", "params": {"a": "x" * (300 * 1024)}}
    too_big = await client.post(f"/workflows/{wf}/preview", json=huge, headers=tenant.headers)
    assert too_big.status_code == 413, too_big.text
    assert too_big.headers["content-type"].startswith("application/problem+json")
    for depth in (100, 900, 5000):
        deep = (
            '{"node_id": "set", "params": {"a": '
            + "[" * depth
            + '"{{ item }}"'
            + "]" * depth
            + "}}"
        )
        refused = await client.post(
            f"/workflows/{wf}/preview",
            content=deep,
            headers={**tenant.headers, "content-type": "application/json"},
        )
        assert refused.headers["content-type"].startswith("application/problem+json")
        if depth > 900:  # past what the body decoder takes at all: the app-wide answer
            assert refused.status_code == 400, refused.text[:300]
            assert refused.json()["code"] == "too_deep"
            continue
        assert refused.status_code == 422, (depth, refused.text[:300])
        assert refused.json()["problems"][0]["pointer"] == "/params"
        assert refused.json()["problems"][0]["code"] == "too_deep"
    fine = {"node_id": "set", "params": {"a": [[[{"b": "{{ item.n }}"}]]]}}
    nested = await client.post(f"/workflows/{wf}/preview", json=fine, headers=tenant.headers)
    assert nested.status_code == 200, nested.text
    assert nested.json()["values"] == [
        {"pointer": "/a/0/0/0/b", "expression": "{{ item.n }}", "value": 3, "error": None}
    ]
