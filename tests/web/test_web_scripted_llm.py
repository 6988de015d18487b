"""The scripted LLM inside the served process (scripted_llm.py): a chat turn of the real
server streams the tokens the test planned, and an unplanned call fails with a clear error."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from scripted_llm import Reply, ScriptServer, Stream, decode_step, encode_step, tool_call
from web_testkit import Server


def sse(server: Server, path: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """POST and read a Server-Sent Events answer to its end: (event, data) pairs."""
    req = urllib.request.Request(
        server.base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {server.api_key}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        },
    )
    events: list[tuple[str, Any]] = []
    name = "message"
    # a hang guard between two events: a chat turn's worker may load the local embedding model
    # first (memory, knowledge), which took minutes on the loaded 2-core machine
    with urllib.request.urlopen(req, timeout=300) as res:
        for raw in res:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:].strip())))
                name = "message"
    return events


def test_steps_cross_as_json() -> None:
    steps = [
        Reply("hi", [tool_call("search", {"q": "x"}, id="c1")]),
        Stream(["a", tool_call("t", '{"raw": 1}'), "b"]),
    ]
    for step in steps:
        assert decode_step(json.loads(json.dumps(encode_step(step)))) == step


def test_a_served_chat_turn_answers_from_the_plan(server: Server, llm: ScriptServer) -> None:
    status, chat = server.api(
        "POST", "/chats", {"agent": {"model": "scripted/web", "stream": True}, "title": "t"}
    )
    assert status == 201, chat
    llm.plan(Stream(["Hel", "lo ", "there"]))
    events = sse(server, f"/chats/{chat['id']}/messages", {"content": "say hello"})
    tokens = [data["text"] for name, data in events if name == "token"]
    assert "".join(tokens) == "Hello there"
    assert events[-1][0] == "final"
    assert events[-1][1]["message"]["content"] == "Hello there"
    assert llm.remaining == 0
    assert llm.requests[-1]["model"] == "web"  # litellm strips the provider
    assert llm.requests[-1]["messages"][-1]["content"] == "say hello"


def test_an_unplanned_call_is_an_error_event(server: Server, llm: ScriptServer) -> None:
    status, chat = server.api("POST", "/chats", {"agent": {"model": "scripted/web"}})
    assert status == 201, chat
    events = sse(server, f"/chats/{chat['id']}/messages", {"content": "anyone?"})
    assert events[-1][0] == "error", events
    assert "no planned answer left" in json.dumps(events[-1][1])
