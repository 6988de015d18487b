"""The copilot API on the real services with a scripted model: drafts, dry runs, the 422
after the last repair round, edits as JSON Patch applied as new versions, roles and tenancy."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from reporunner.agents.copilot import CREDENTIAL_PLACEHOLDER, apply_patch
from reporunner.agents.copilot.prompt import EDIT_TOOL, GENERATE_TOOL
from reporunner.agents.testing import Reply, ScriptedLLM, scripted_llm, tool_call
from reporunner.nodes.registry import default_registry
from reporunner.platform.api.app import create_app
from reporunner.platform.engine import validate
from reporunner.platform.settings import Settings

DEFINITION: dict[str, Any] = {
    "name": "Orders to Slack",
    "nodes": [
        {"id": "order", "type": "trigger.webhook", "params": {"path": "orders"}},
        {"id": "notify", "type": "slack.message", "params": {"text": "New order {{ item }}"},
         "credentials": {"webhook_url": "https://hooks.slack.com/services/T/B/secret"}},
    ],
    "edges": [{"source": "order", "target": "notify"}],
}  # fmt: skip
DANGLING = {**DEFINITION, "edges": [{"source": "order", "target": "notfy"}]}


def submit(definition: dict[str, Any]) -> Reply:
    args = {"definition": definition, "explanations": {"order": "Receives the order."}}
    return Reply(tool_calls=[tool_call(GENERATE_TOOL, args)])


def submit_patch(patch: list[dict[str, Any]], summary: str) -> Reply:
    return Reply(tool_calls=[tool_call(EDIT_TOOL, {"patch": patch, "summary": summary})])


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    configured = settings.model_copy(
        update={"llm_model": "scripted/copilot", "queue_name": f"test:cp:{uuid.uuid4().hex}"}
    )
    async with AsyncTestClient(create_app(configured)) as client:
        yield client


async def test_generate_saves_a_valid_draft(api, tenant_factory, llm: ScriptedLLM) -> None:
    tenant = await tenant_factory(role="editor")
    llm.plan(submit(DANGLING), submit(DEFINITION))

    response = await api.post(
        "/workflows/generate",
        json={"description": "when an order arrives by webhook, post it to Slack"},
        headers=tenant.headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["attempts"] == 2
    assert validate(body["definition"], default_registry()) == []
    assert body["workflow"]["latest_version"] == 1
    assert body["workflow"]["published_version"] is None  # a draft
    assert body["version"]["definition"] == body["definition"]
    assert body["missing_credentials"] == [
        {"node_id": "notify", "node_type": "slack.message", "credential_type": "webhook_url"}
    ]
    assert "hooks.slack.com" not in response.text
    assert [e["node_id"] for e in body["explanations"]] == ["order", "notify"]
    assert {"trigger.webhook", "slack.message"} <= set(body["candidate_types"])

    saved = await api.get(f"/workflows/{body['workflow']['id']}/versions/1", headers=tenant.headers)
    notify = saved.json()["definition"]["nodes"][1]
    assert notify["credentials"] == {"webhook_url": CREDENTIAL_PLACEHOLDER}


async def test_dry_run_saves_nothing(api, tenant_factory, llm: ScriptedLLM) -> None:
    tenant = await tenant_factory(role="editor")
    llm.plan(submit(DEFINITION))

    response = await api.post(
        "/workflows/generate",
        json={"description": "post webhook orders to Slack", "dry_run": True},
        headers=tenant.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["workflow"] is None
    assert (await api.get("/workflows", headers=tenant.headers)).json() == []


async def test_422_after_the_last_repair_round(api, tenant_factory, llm: ScriptedLLM) -> None:
    tenant = await tenant_factory(role="editor")
    llm.plan(submit(DANGLING), submit(DANGLING))

    response = await api.post(
        "/workflows/generate",
        json={"description": "post webhook orders to Slack", "max_repairs": 1},
        headers=tenant.headers,
    )

    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "copilot_failed"
    assert problem["attempts"] == 2
    assert [p["code"] for p in problem["problems"]] == ["dangling_edge", "unreachable_node"]
    assert "notfy" in problem["problems"][0]["message"]
    assert llm.remaining == 0
    assert (await api.get("/workflows", headers=tenant.headers)).json() == []


async def _saved(api: AsyncTestClient, headers: dict[str, str]) -> str:
    created = await api.post("/workflows", content=json.dumps(DEFINITION), headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["workflow"]["id"])


ALSO_EMAIL = [
    {"op": "add", "path": "/nodes/-", "value": {
        "id": "mail", "type": "email.send", "credentials": {"smtp": "x"},
        "params": {"to": ["sales@example.com"], "subject": "New order", "text": "{{ item }}"}}},
    {"op": "add", "path": "/edges/-", "value": {"source": "order", "target": "mail"}},
]  # fmt: skip


async def test_edit_proposes_a_patch_that_applies_as_a_new_version(
    api, tenant_factory, llm: ScriptedLLM
) -> None:
    tenant = await tenant_factory(role="editor")
    workflow_id = await _saved(api, tenant.headers)
    llm.plan(submit_patch(ALSO_EMAIL, "Also emails sales about each order."))

    response = await api.post(
        f"/workflows/{workflow_id}/edit",
        json={"instruction": "also send it by email"},
        headers=tenant.headers,
    )

    assert response.status_code == 200, response.text
    edit = response.json()
    assert edit["base_version"] == 1
    assert edit["version"] is None  # proposed, not applied
    assert validate(edit["definition"], default_registry()) == []
    base = (await api.get(f"/workflows/{workflow_id}/versions/1", headers=tenant.headers)).json()
    assert apply_patch(base["definition"], edit["patch"]) == edit["definition"]
    assert edit["missing_credentials"] == [
        {"node_id": "mail", "node_type": "email.send", "credential_type": "smtp"}
    ]

    applied = await api.post(
        f"/workflows/{workflow_id}/patch",
        json={"base_version": 1, "patch": edit["patch"], "note": edit["summary"]},
        headers=tenant.headers,
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["number"] == 2
    assert applied.json()["definition"] == edit["definition"]
    assert applied.json()["note"] == "Also emails sales about each order."

    stale = await api.post(
        f"/workflows/{workflow_id}/patch",
        json={"base_version": 1, "patch": edit["patch"]},
        headers=tenant.headers,
    )
    assert stale.status_code == 409, stale.text


async def test_edit_with_apply_saves_the_version(api, tenant_factory, llm: ScriptedLLM) -> None:
    tenant = await tenant_factory(role="editor")
    workflow_id = await _saved(api, tenant.headers)
    rename = [{"op": "replace", "path": "/name", "value": "Orders everywhere"}]
    llm.plan(submit_patch(rename, "Renamed."))

    response = await api.post(
        f"/workflows/{workflow_id}/edit",
        json={"instruction": "rename it to Orders everywhere", "apply": True},
        headers=tenant.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["version"]["number"] == 2
    workflow = (await api.get(f"/workflows/{workflow_id}", headers=tenant.headers)).json()
    assert (workflow["name"], workflow["latest_version"]) == ("Orders everywhere", 2)


async def test_patch_that_breaks_the_workflow_is_422(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    workflow_id = await _saved(api, tenant.headers)
    for patch, code in (
        ([{"op": "remove", "path": "/nodes/5"}], "invalid_patch"),
        ([{"op": "replace", "path": "/nodes/1/type", "value": "slack.mesage"}], None),
    ):
        response = await api.post(
            f"/workflows/{workflow_id}/patch",
            json={"base_version": 1, "patch": patch},
            headers=tenant.headers,
        )
        assert response.status_code == 422, response.text
        if code:
            assert response.json()["code"] == code
        else:
            assert "did you mean 'slack.message'" in response.text


async def test_other_workspace_and_viewer(api, tenant_factory, llm: ScriptedLLM) -> None:
    owner = await tenant_factory(role="editor")
    stranger = await tenant_factory(role="editor")
    viewer = await tenant_factory(role="viewer")
    workflow_id = await _saved(api, owner.headers)

    other = await api.post(
        f"/workflows/{workflow_id}/edit", json={"instruction": "rename"}, headers=stranger.headers
    )
    assert other.status_code == 404, other.text
    denied = await api.post(
        "/workflows/generate", json={"description": "anything at all"}, headers=viewer.headers
    )
    assert denied.status_code == 403, denied.text
    assert llm.requests == []


async def test_no_model_configured_is_503(
    settings: Settings, tenant_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPORUNNER_LLM_MODEL", raising=False)
    tenant = await tenant_factory(role="editor")
    async with AsyncTestClient(create_app(settings.model_copy(update={"llm_model": None}))) as c:
        response = await c.post(
            "/workflows/generate", json={"description": "post orders"}, headers=tenant.headers
        )
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "llm_not_configured"
    assert "REPORUNNER_LLM_MODEL" in response.json()["detail"]


async def test_chat_thread_refines_over_several_turns(
    api, tenant_factory, llm: ScriptedLLM
) -> None:
    tenant = await tenant_factory(role="editor")
    workflow_id = await _saved(api, tenant.headers)
    other_id = await _saved(api, tenant.headers)
    opened = await api.post(
        f"/workflows/{workflow_id}/copilot/threads", json={}, headers=tenant.headers
    )
    assert opened.status_code == 201, opened.text
    thread = f"/workflows/{workflow_id}/copilot/threads/{opened.json()['id']}/messages"
    subject = [{"op": "replace", "path": "/nodes/2/params/subject", "value": "Daily orders"}]
    llm.plan(
        submit_patch(ALSO_EMAIL, "Also emails sales."),
        submit_patch(subject, "Subject is now 'Daily orders'."),
    )

    first = await api.post(
        thread, json={"message": "also send it by email"}, headers=tenant.headers
    )
    second = await api.post(
        thread,
        json={"message": "change the mail subject to Daily orders", "apply": True},
        headers=tenant.headers,
    )

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    # the second turn saw the first one and built on its proposal
    asked = llm.requests[1].messages
    assert [m["content"] for m in asked[1:3]] == ["also send it by email", "Also emails sales."]
    assert '"id": "mail"' in asked[3]["content"]
    turn = second.json()
    assert turn["base_version"] == 1
    assert turn["version"]["number"] == 2
    base = (await api.get(f"/workflows/{workflow_id}/versions/1", headers=tenant.headers)).json()
    assert apply_patch(base["definition"], turn["patch"]) == turn["definition"]
    mail = turn["definition"]["nodes"][2]
    assert (mail["id"], mail["params"]["subject"]) == ("mail", "Daily orders")
    assert turn["version"]["definition"] == turn["definition"]

    history = (await api.get(thread, headers=tenant.headers)).json()
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[3]["proposal"]["applied_version"] == 2
    assert history[1]["proposal"]["applied_version"] is None

    wrong = thread.replace(workflow_id, other_id)
    assert (await api.get(wrong, headers=tenant.headers)).status_code == 404
    stranger = await tenant_factory(role="editor")
    assert (await api.get(thread, headers=stranger.headers)).status_code == 404


def test_service_surface_is_sorted_and_importable() -> None:
    import reporunner.platform.copilot as service

    assert service.__all__ == sorted(service.__all__, key=lambda n: (not n.isupper(), n))
    for name in service.__all__:
        assert getattr(service, name) is not None, name


async def test_copilot_threads_are_not_agent_chats(api, tenant_factory) -> None:
    """A refinement thread shares the chat tables but is refused (404 with the right path) by
    the agent chat routes instead of failing inside the agent."""
    tenant = await tenant_factory(role="editor")
    workflow_id = await _saved(api, tenant.headers)
    opened = await api.post(
        f"/workflows/{workflow_id}/copilot/threads", json={}, headers=tenant.headers
    )
    assert opened.status_code == 201, opened.text
    thread_id = opened.json()["id"]
    got = await api.get(f"/chats/{thread_id}", headers=tenant.headers)
    posted = await api.post(
        f"/chats/{thread_id}/messages", json={"content": "hi"}, headers=tenant.headers
    )
    for response in (got, posted):
        assert response.status_code == 404, response.text
        assert "copilot refinement thread" in response.json()["detail"]


async def test_status_says_whether_a_model_is_configured(
    api, settings: Settings, tenant_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await tenant_factory(role="viewer")
    ready = await api.get("/copilot/status", headers=tenant.headers)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"configured": True, "model": "scripted/copilot", "detail": None}

    monkeypatch.delenv("REPORUNNER_LLM_MODEL", raising=False)
    async with AsyncTestClient(create_app(settings.model_copy(update={"llm_model": None}))) as c:
        missing = (await c.get("/copilot/status", headers=tenant.headers)).json()
        bare = await c.get("/copilot/status")  # who may ask: members only
    assert missing["configured"] is False
    assert "REPORUNNER_LLM_MODEL" in missing["detail"]
    assert bare.status_code == 401


async def test_copilot_threads_are_listed_per_workflow(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    workflow_id = await _saved(api, tenant.headers)
    other_id = await _saved(api, tenant.headers)
    opened = []
    for title in ("first", "second"):
        response = await api.post(
            f"/workflows/{workflow_id}/copilot/threads", json={"title": title},
            headers=tenant.headers,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        opened.append(response.json()["id"])
    await api.post(f"/workflows/{other_id}/copilot/threads", json={}, headers=tenant.headers)

    listed = await api.get(f"/workflows/{workflow_id}/copilot/threads", headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()] == opened[::-1]
    assert {t["workflow_id"] for t in listed.json()} == {workflow_id}
    # copilot threads are not agent chats: GET /chats leaves them out
    chats = (await api.get("/chats", headers=tenant.headers)).json()["items"]
    assert not {c["id"] for c in chats} & set(opened)

    stranger = await tenant_factory(role="editor")
    hidden = await api.get(f"/workflows/{workflow_id}/copilot/threads", headers=stranger.headers)
    assert hidden.status_code == 404
    bad = await api.get("/workflows/not-a-uuid/copilot/threads", headers=tenant.headers)
    assert bad.status_code in (400, 404)
