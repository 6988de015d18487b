"""``/chats`` and ``/memories`` over the whole app, the real Postgres and Redis, a worker (it
writes the answers) and the scripted LLM: streamed turns, memory, summaries, workspace
credentials, one turn at a time per thread."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sse_testkit import sse
from worker_testkit import ThreadWorker

from reporunner.agents.testing import (
    Reply,
    ScriptedLLM,
    ScriptedRequest,
    Stream,
    scripted_llm,
    tool_call,
)
from reporunner.nodes.errors import ConflictError
from reporunner.platform.chats import MessageIn, run_turn, start_turn
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A queue of this test's own, so its worker takes no other test's jobs."""
    return settings.model_copy(update={"queue_name": f"test:chats:{uuid.uuid4().hex}"})


@pytest.fixture(autouse=True)
def worker(settings: Settings) -> Iterator[ThreadWorker]:
    """Chat turns are answered on a worker."""
    with ThreadWorker(settings) as running:
        yield running


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


def held(answer: str, gate: threading.Event) -> Any:
    """A scripted step that answers once ``gate`` is set (the turn stays running until then;
    it blocks the worker thread's loop, never the test's)."""

    def step(_request: ScriptedRequest) -> Reply:
        assert gate.wait(60), "the test never released the held answer"
        return Reply(answer)

    return step


async def until(check: Any, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def new_chat(client: AsyncTestClient, headers: dict[str, str], **body: Any) -> str:
    response = await client.post("/chats", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def say(
    client: AsyncTestClient, headers: dict[str, str], chat_id: str, text: str
) -> list[tuple[str, dict[str, Any]]]:
    response = await client.post(
        f"/chats/{chat_id}/messages", json={"content": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse(response.text)


async def test_a_turn_streams_in_order_and_is_stored(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM
) -> None:
    tenant = await tenant_factory(role="editor")
    chat = await new_chat(
        client,
        tenant.headers,
        title="support",
        agent={
            "model": "scripted/chat",
            "tools": [{"kind": "node", "node_type": "logic.noop", "name": "check"}],
        },
    )
    llm.plan(
        Stream(["Let me check. ", tool_call("check", {}, id="c1")], prompt_tokens=20),
        Stream(["All ", "good."], prompt_tokens=30, completion_tokens=4),
    )
    events = await say(client, tenant.headers, chat, "Is everything fine?")
    assert [name for name, _ in events] == [
        "message",
        "token",
        "tool_call",
        "tool_result",
        "token",
        "token",
        "usage",
        "final",
    ]
    assert events[0][1]["message"]["content"] == "Is everything fine?"
    assert [d["text"] for n, d in events if n == "token"] == ["Let me check. ", "All ", "good."]
    assert events[2][1]["tool"] == "check"
    assert events[3][1]["ok"] is True
    final = events[-1][1]
    assert final["message"]["content"] == "All good."
    assert final["usage"]["prompt_tokens"] == 50

    history = (await client.get(f"/chats/{chat}/messages", headers=tenant.headers)).json()
    roles = [m["role"] for m in history["items"]]
    assert roles == ["user", "assistant"]
    answer = history["items"][1]
    assert answer["content"] == "All good."
    assert answer["tool_calls"][0]["tool"] == "check"
    assert (answer["tokens_in"], answer["tokens_out"]) == (50, 9)

    # the next turn sends the stored history back to the model
    llm.plan(Reply("You asked whether everything is fine."))
    await say(client, tenant.headers, chat, "What did I ask?")
    sent = [(m["role"], m["content"]) for m in llm.requests[-1].messages if m["role"] != "system"]
    assert sent == [
        ("user", "Is everything fine?"),
        ("assistant", "All good."),
        ("user", "What did I ask?"),
    ]


async def test_memory_written_in_one_chat_is_recalled_in_another(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM
) -> None:
    tenant = await tenant_factory(role="editor")
    agent = {"model": "scripted/chat", "memory": {"enabled": True}}
    first = await new_chat(
        client, tenant.headers, agent_id="concierge", agent=agent, end_user_id="ann"
    )
    fact = "Ann is vegetarian."
    llm.plan(Reply(tool_calls=[tool_call("remember", {"text": fact})]), Reply("Noted."))
    await say(client, tenant.headers, first, "Remember that I am vegetarian.")

    second = await new_chat(
        client, tenant.headers, agent_id="concierge", agent=agent, end_user_id="ann"
    )
    llm.plan(Reply("How about a mushroom risotto?"))
    await say(client, tenant.headers, second, "What should I eat tonight? I am vegetarian?")
    system = " ".join(m["content"] for m in llm.requests[-1].messages if m["role"] == "system")
    assert fact in system

    listed = (await client.get("/memories?agent_id=concierge", headers=tenant.headers)).json()
    assert [(m["text"], m["end_user_id"]) for m in listed["items"]] == [(fact, "ann")]
    memory_id = listed["items"][0]["id"]

    stranger = await tenant_factory(role="owner")
    assert (await client.get("/memories", headers=stranger.headers)).json()["items"] == []
    gone = await client.delete(f"/memories/{memory_id}", headers=stranger.headers)
    assert gone.status_code == 404
    assert (
        await client.delete(f"/memories/{memory_id}", headers=tenant.headers)
    ).status_code == 204
    assert (await client.get("/memories", headers=tenant.headers)).json()["items"] == []


async def test_no_model_is_a_503_that_names_the_setting(
    client: AsyncTestClient, tenant_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPORUNNER_LLM_MODEL", raising=False)
    tenant = await tenant_factory(role="editor")
    chat = await new_chat(client, tenant.headers, agent={})
    response = await client.post(
        f"/chats/{chat}/messages", json={"content": "hi"}, headers=tenant.headers
    )
    assert response.status_code == 503, response.text
    assert "REPORUNNER_LLM_MODEL" in response.text
    stored = (await client.get(f"/chats/{chat}/messages", headers=tenant.headers)).json()
    assert stored["items"] == []  # nothing half-done is kept


async def test_chats_are_workspace_scoped_and_validated(
    client: AsyncTestClient, tenant_factory: Any
) -> None:
    tenant = await tenant_factory(role="editor")
    stranger = await tenant_factory(role="editor")
    chat = await new_chat(client, tenant.headers, agent={"model": "scripted/chat"})
    assert (await client.get(f"/chats/{chat}", headers=stranger.headers)).status_code == 404
    other = await client.post(
        f"/chats/{chat}/messages", json={"content": "hi"}, headers=stranger.headers
    )
    assert other.status_code == 404
    both = await client.post(
        "/chats",
        json={"agent": {}, "workflow_id": str(uuid.uuid4())},
        headers=tenant.headers,
    )
    assert both.status_code in (400, 422)
    missing = await client.post(
        "/chats", json={"workflow_id": str(uuid.uuid4())}, headers=tenant.headers
    )
    assert missing.status_code == 404
    viewer = await tenant_factory(role="viewer")
    denied = await client.post("/chats", json={"agent": {}}, headers=viewer.headers)
    assert denied.status_code == 403


async def test_long_threads_are_summarised_once_and_the_summary_is_kept(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM
) -> None:
    tenant = await tenant_factory(role="editor")
    agent = {"model": "scripted/chat", "memory": {"history_tokens": 200}}
    chat = await new_chat(client, tenant.headers, agent=agent)
    llm.plan(Reply("ok1"))
    await say(client, tenant.headers, chat, "My order number is 4711. " + "blah " * 400)
    llm.plan(Reply("SUMMARY: order 4711."), Reply("ok2"))
    await say(client, tenant.headers, chat, "second question")
    assert "blah blah" in llm.requests[1].messages[-1]["content"]  # the summariser's input
    sent = llm.requests[2].messages
    assert "SUMMARY: order 4711." in sent[1]["content"]
    assert not any("blah blah" in str(m["content"]) for m in sent)

    # the next turn reuses the stored summary: no second summarising call
    llm.plan(Reply("ok3"))
    events = await say(client, tenant.headers, chat, "third question")
    assert events[-1][0] == "final"
    assert events[-1][1]["message"]["content"] == "ok3"
    last = llm.requests[3].messages
    assert "SUMMARY: order 4711." in last[1]["content"]
    assert [m["content"] for m in last[2:]] == ["ok1", "second question", "ok2", "third question"]
    assert llm.remaining == 0


# --- workspace credentials and one turn at a time ---------------------------------------


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    opened = await open_resources(settings)
    try:
        yield opened
    finally:
        await opened.close()


async def _api_key_credential(
    client: AsyncTestClient, headers: dict[str, str], key: str, name: str = "llm-key"
) -> str:
    created = await client.post(
        "/credentials",
        json={"name": name, "type": "api_key", "data": {"api_key": key}},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_an_agent_chat_uses_its_bound_workspace_credential(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM
) -> None:
    admin = await tenant_factory(role="admin")
    key = "sk-" + uuid.uuid4().hex
    credential_id = await _api_key_credential(client, admin.headers, key)
    chat = await new_chat(
        client,
        admin.headers,
        agent={"model": "scripted/chat"},
        credentials={"api_key": credential_id},
    )
    shown = (await client.get(f"/chats/{chat}", headers=admin.headers)).json()
    assert shown["credentials"] == {"api_key": credential_id}
    assert key not in str(shown)

    llm.plan(Reply("hello"))
    events = await say(client, admin.headers, chat, "hi")
    assert events[-1][0] == "final"
    assert llm.requests[-1].api_key == key

    # an unbound chat of the same workspace does not get the key
    plain = await new_chat(client, admin.headers, agent={"model": "scripted/chat"})
    llm.plan(Reply("hello"))
    await say(client, admin.headers, plain, "hi")
    assert llm.requests[-1].api_key != key


async def test_chat_credential_bindings_are_checked(
    client: AsyncTestClient, tenant_factory: Any
) -> None:
    admin = await tenant_factory(role="admin")
    stranger = await tenant_factory(role="admin")
    theirs = await _api_key_credential(client, stranger.headers, "sk-theirs")
    bearer = await client.post(
        "/credentials",
        json={"name": "tok", "type": "bearer_token", "data": {"token": "t-1"}},
        headers=admin.headers,
    )
    assert bearer.status_code == 201, bearer.text
    cases = {
        "another workspace's credential": {"api_key": theirs},
        "a credential of another type": {"api_key": bearer.json()["id"]},
        "not an id": {"api_key": "nope"},
        "no such type": {"api_kee": str(uuid.uuid4())},
    }
    for case, bindings in cases.items():
        response = await client.post(
            "/chats",
            json={"agent": {"model": "scripted/chat"}, "credentials": bindings},
            headers=admin.headers,
        )
        assert response.status_code == 422, (case, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        pointers = [p["pointer"] for p in response.json()["problems"]]
        assert pointers == [f"/credentials/{next(iter(bindings))}"], case
    workflow_chat = await client.post(
        "/chats",
        json={"workflow_id": str(uuid.uuid4()), "credentials": {"api_key": theirs}},
        headers=admin.headers,
    )
    assert workflow_chat.status_code in (400, 422)
    assert "credentials" in workflow_chat.text


async def test_a_deleted_bound_credential_is_a_clear_error_with_nothing_stored(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM
) -> None:
    admin = await tenant_factory(role="admin")
    credential_id = await _api_key_credential(client, admin.headers, "sk-gone")
    chat = await new_chat(
        client,
        admin.headers,
        agent={"model": "scripted/chat"},
        credentials={"api_key": credential_id},
    )
    deleted = await client.delete(f"/credentials/{credential_id}", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    response = await client.post(
        f"/chats/{chat}/messages", json={"content": "hi"}, headers=admin.headers
    )
    assert 400 <= response.status_code < 500, response.text
    assert credential_id in response.json()["detail"]
    stored = (await client.get(f"/chats/{chat}/messages", headers=admin.headers)).json()
    assert stored["items"] == []
    # the failed turn freed the thread: a later turn is not refused as concurrent
    llm.plan(Reply("unused"))
    again = await client.post(
        f"/chats/{chat}/messages", json={"content": "hi"}, headers=admin.headers
    )
    assert again.status_code != 409


async def test_a_second_message_while_a_turn_runs_is_a_409_and_the_thread_frees_after(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM, resources: Resources
) -> None:
    editor = await tenant_factory(role="editor")
    chat = await new_chat(client, editor.headers, agent={"model": "scripted/chat"})
    chat_id = uuid.UUID(chat)

    gate = threading.Event()
    llm.plan(held("first answer", gate))
    turn = await start_turn(resources, editor.workspace_id, chat_id, MessageIn(content="one"))
    # while that turn holds the thread (queued or on the worker), another message is refused
    with pytest.raises(ConflictError):
        await start_turn(resources, editor.workspace_id, chat_id, MessageIn(content="two"))
    response = await client.post(
        f"/chats/{chat}/messages", json={"content": "two"}, headers=editor.headers
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "final" in response.json()["detail"]

    gate.set()
    events = [name async for name, _ in run_turn(resources, turn)]
    assert events[-1] == "final"
    history = (await client.get(f"/chats/{chat}/messages", headers=editor.headers)).json()
    assert [m["content"] for m in history["items"]] == ["one", "first answer"]

    llm.plan(Reply("second answer"))
    later = await say(client, editor.headers, chat, "two")
    assert later[-1][1]["message"]["content"] == "second answer"


async def test_two_messages_at_once_start_one_turn(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM, resources: Resources
) -> None:
    editor = await tenant_factory(role="editor")
    chat_id = uuid.UUID(await new_chat(client, editor.headers, agent={"model": "scripted/chat"}))
    llm.plan(Reply("the one answer"))
    outcomes = await asyncio.gather(
        *(
            start_turn(resources, editor.workspace_id, chat_id, MessageIn(content=text))
            for text in ("one", "two")
        ),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    started = [o for o in outcomes if not isinstance(o, BaseException)]
    assert (len(started), len(refused)) == (1, 1), outcomes
    events = [name async for name, _ in run_turn(resources, started[0])]
    assert events[-1] == "final"
    history = (await client.get(f"/chats/{chat_id}/messages", headers=editor.headers)).json()
    assert [m["role"] for m in history["items"]] == ["user", "assistant"]  # nothing interleaved


async def test_a_client_that_stops_reading_does_not_stop_the_turn(
    tenant_factory: Any, llm: ScriptedLLM, resources: Resources, client: AsyncTestClient
) -> None:
    editor = await tenant_factory(role="editor")
    chat_id = uuid.UUID(await new_chat(client, editor.headers, agent={"model": "scripted/chat"}))
    gate = threading.Event()
    llm.plan(held("written anyway", gate))
    turn = await start_turn(resources, editor.workspace_id, chat_id, MessageIn(content="one"))
    stream = run_turn(resources, turn)
    first = await anext(stream)
    assert first[0] == "message"
    assert first[1]["turn_id"] == str(turn.turn_id)
    await stream.aclose()  # the client went away after the first event
    gate.set()

    async def answered() -> bool:
        page = await client.get(f"/chats/{chat_id}/messages", headers=editor.headers)
        return [m["content"] for m in page.json()["items"]] == ["one", "written anyway"]

    await until(answered, "the worker to store the answer")
    # and a client coming back gets the whole turn again, ending with that answer
    again = [event async for event in run_turn(resources, turn)]
    assert again[0][0] == "message"
    assert again[-1][0] == "final"
    assert again[-1][1]["message"]["content"] == "written anyway"
    llm.plan(Reply("next"))
    assert (await say(client, editor.headers, str(chat_id), "two"))[-1][0] == "final"


async def test_chats_are_listed_most_recent_first_per_workspace(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM
) -> None:
    tenant = await tenant_factory(role="editor")
    first = await new_chat(client, tenant.headers, title="first", agent={"model": "scripted/c"})
    second = await new_chat(client, tenant.headers, title="second", agent={"model": "scripted/c"})
    llm.plan(Reply("hi"))
    await say(client, tenant.headers, first, "hello")  # the first is now the most recent

    listed = await client.get("/chats", headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [first, second]
    page = (await client.get("/chats?limit=1&offset=1", headers=tenant.headers)).json()
    assert [c["id"] for c in page["items"]] == [second]

    stranger = await tenant_factory(role="editor")
    assert (await client.get("/chats", headers=stranger.headers)).json()["items"] == []
    bad = await client.get("/chats?limit=many", headers=tenant.headers)
    assert bad.status_code == 400
    assert "limit" in bad.text
