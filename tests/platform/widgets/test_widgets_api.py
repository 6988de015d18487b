"""``/widgets`` for admins and a visitor's chat through ``/public/widgets`` (real Postgres,
Redis, a worker and the scripted LLM)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient
from sse_testkit import sse
from widget_testkit import (
    AGENT_CHAT,
    ECHO_CHAT,
    SHOP,
    new_widget,
    plain,
    published_workflow,
    visitor,
)
from worker_testkit import ThreadWorker

from reporunner.agents.testing import ScriptedLLM, Stream, scripted_llm
from reporunner.platform.api.app import create_app
from reporunner.platform.settings import Settings


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture
def tuned(settings: Settings) -> Settings:
    return settings.model_copy(update={"queue_name": f"test:widget:{uuid.uuid4().hex}"})


async def test_admins_create_list_change_and_delete_widgets(settings, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    async with AsyncTestClient(create_app(settings)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        made = await new_widget(
            client, admin.headers, workflow,
            allowed_origins=["HTTPS://Shop.Example:443", "http://localhost:3000"],
            greeting="Hello!", colors={"accent": "#112233"},
        )  # fmt: skip
        listed = await client.get("/widgets", headers=admin.headers)
        changed = await client.patch(
            f"/widgets/{made['id']}",
            json={"greeting": "Hi again", "messages_per_minute": 3},
            headers=admin.headers,
        )
        removed = await client.delete(f"/widgets/{made['id']}", headers=admin.headers)
        gone = await client.get(f"/widgets/{made['id']}", headers=admin.headers)
        public = await client.get(
            f"/public/widgets/{made['public_id']}/config", headers={"Origin": SHOP}
        )
        audit = await client.get("/audit", headers=admin.headers)
    assert made["allowed_origins"] == [SHOP, "http://localhost:3000"]  # normalised
    assert made["public_id"].startswith("wg_")
    assert made["snippet"] == (
        f'<script src="http://testserver.local/widget.js" data-chat="{made["public_id"]}" '
        "defer></script>"
    )
    assert [w["id"] for w in listed.json()["items"]] == [made["id"]]
    assert changed.status_code == 200, changed.text
    assert (changed.json()["greeting"], changed.json()["messages_per_minute"]) == ("Hi again", 3)
    assert changed.json()["colors"] == {"accent": "#112233", "background": None, "text": None}
    assert removed.status_code == 204
    assert gone.status_code == 404
    assert public.status_code == 404  # the public id stops working at once
    entries = [e for e in audit.json()["items"] if e["target_type"] == "widget"]
    assert [e["action"] for e in entries] == ["widget.deleted", "widget.updated", "widget.created"]
    assert {e["target_id"] for e in entries} == {made["id"]}
    assert entries[1]["data"]["changed"] == ["greeting", "messages_per_minute"]


async def test_widgets_need_an_admin_and_stay_in_their_workspace(settings, tenant_factory) -> None:
    admin, editor, other = (
        await tenant_factory(role="admin"),
        await tenant_factory(role="editor"),
        await tenant_factory(role="admin"),
    )
    async with AsyncTestClient(create_app(settings)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        made = await new_widget(client, admin.headers, workflow)
        as_editor = await client.get("/widgets", headers=editor.headers)
        theirs = await client.get(f"/widgets/{made['id']}", headers=other.headers)
        their_list = await client.get("/widgets", headers=other.headers)
        bind_ours = await client.post(
            "/widgets",
            json={"name": "x", "workflow_id": workflow, "allowed_origins": [SHOP]},
            headers=other.headers,
        )
    assert as_editor.status_code == 403
    assert theirs.status_code == 404
    assert their_list.json()["items"] == []
    assert bind_ours.status_code == 404  # another workspace's workflow


async def test_bad_widget_input_names_the_field(settings, tenant_factory) -> None:
    admin = await tenant_factory(role="admin")
    no_trigger = {**ECHO_CHAT, "nodes": [{"id": "m", "type": "trigger.manual"}], "edges": []}
    async with AsyncTestClient(create_app(settings)) as client:
        workflow = await published_workflow(client, admin.headers, ECHO_CHAT)
        manual = await published_workflow(client, admin.headers, no_trigger)
        draft = await client.post("/workflows", json=ECHO_CHAT, headers=admin.headers)
        base = {"name": "w", "workflow_id": workflow}
        answers = {
            name: await client.post("/widgets", json=body, headers=admin.headers)
            for name, body in {
                "origins": {**base, "allowed_origins": [SHOP, "https://*.shop.example"]},
                "path": {**base, "allowed_origins": ["https://shop.example/page"]},
                "slash": {**base, "allowed_origins": ["https://shop.example/"]},
                "scheme": {**base, "allowed_origins": ["ftp://shop.example"]},
                "none": {**base, "allowed_origins": []},
                "colour": {**base, "allowed_origins": [SHOP], "colors": {"accent": "red"}},
                "manual": {"name": "w", "workflow_id": manual, "allowed_origins": [SHOP]},
                "draft": {
                    "name": "w",
                    "workflow_id": draft.json()["workflow"]["id"],
                    "allowed_origins": [SHOP],
                },
                "extra": {**base, "allowed_origins": [SHOP], "public_id": "wg_mine"},
            }.items()
        }
    for name in ("origins", "path", "slash", "scheme", "manual", "draft"):
        assert answers[name].status_code == 422, (name, answers[name].text)
        assert answers[name].headers["content-type"].startswith("application/problem+json")
    assert answers["origins"].json()["problems"][0]["pointer"] == "/allowed_origins/1"
    assert answers["path"].json()["problems"][0]["pointer"] == "/allowed_origins/0"
    assert answers["manual"].json()["problems"][0]["code"] == "no_chat_trigger"
    assert answers["draft"].json()["problems"][0]["code"] == "not_published"
    for name in ("none", "colour", "extra"):
        assert answers[name].status_code == 400, (name, answers[name].text)
    assert "allowed_origins" in answers["none"].json()["detail"]
    assert "colors" in answers["colour"].json()["detail"]


async def test_a_visitor_chats_and_gets_the_streamed_answer(
    tuned: Settings, tenant_factory, llm: ScriptedLLM
) -> None:
    admin = await tenant_factory(role="admin")
    llm.plan(Stream(["Hello ", "visitor."]), Stream(["Again ", "hi."]))
    async with AsyncTestClient(create_app(tuned)) as client:
        workflow = await published_workflow(client, admin.headers, AGENT_CHAT)
        widget = await new_widget(client, admin.headers, workflow, greeting="Ask me")
        pid = widget["public_id"]
        config = await client.get(f"/public/widgets/{pid}/config", headers={"Origin": SHOP})
        token = await visitor(client, pid)
        with ThreadWorker(tuned):
            first = await client.post(
                f"/public/widgets/{pid}/messages", **plain({"token": token, "content": "hi"})
            )
            second = await client.post(
                f"/public/widgets/{pid}/messages", **plain({"token": token, "content": "more"})
            )
        history = await client.post(f"/public/widgets/{pid}/history", **plain({"token": token}))
    assert config.status_code == 200
    assert config.headers["access-control-allow-origin"] == SHOP
    assert config.json() == {
        "public_id": pid, "name": "Help", "greeting": "Ask me",
        "colors": {"accent": None, "background": None, "text": None},
    }  # fmt: skip
    assert first.status_code == 200, first.text
    assert first.headers["access-control-allow-origin"] == SHOP
    assert first.headers["content-type"].startswith("text/event-stream")
    events = sse(first.text)
    assert [d["text"] for n, d in events if n == "token"] == ["Hello ", "visitor."]
    assert {n for n, _ in events} == {"token", "final"}  # no execution ids, usage or tools
    assert events[-1][1]["message"]["content"] == "Hello visitor."
    assert sse(second.text)[-1][1]["message"]["content"] == "Again hi."
    # the second turn saw the first as history
    assert [m["content"] for m in llm.requests[1].messages if m["role"] != "system"] == [
        "hi", "Hello visitor.", "more",
    ]  # fmt: skip
    assert history.headers["access-control-allow-origin"] == SHOP
    assert [(m["role"], m["content"]) for m in history.json()["items"]] == [
        ("user", "hi"), ("assistant", "Hello visitor."),
        ("user", "more"), ("assistant", "Again hi."),
    ]  # fmt: skip


def test_the_public_surface_is_sorted_and_importable() -> None:
    import reporunner.platform.widgets as widgets

    assert list(widgets.__all__) == sorted(widgets.__all__)
    for name in widgets.__all__:
        assert getattr(widgets, name) is not None, name
