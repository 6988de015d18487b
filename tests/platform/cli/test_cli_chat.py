"""``reporunner chat``: streamed turns against the API app (in process) with the scripted LLM."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from worker_testkit import ThreadWorker

from reporunner.agents.testing import Reply, ScriptedLLM, Stream, scripted_llm, tool_call
from reporunner.platform.cli import main
from reporunner.platform.cli.chat import ChatFailed, chat_session
from reporunner.platform.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"queue_name": f"test:cli-chat:{uuid.uuid4().hex}"})


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    """The answers are written on a worker."""
    with ThreadWorker(settings):
        yield


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "helper.json"
    path.write_text(
        json.dumps(
            {
                "agent_id": "cli-bot",
                "model": "scripted/cli",
                "tools": [{"kind": "node", "node_type": "logic.noop", "name": "noop"}],
            }
        )
    )
    return path


@pytest.mark.usefixtures("worker")
async def test_one_message_streams_and_the_chat_continues(
    client: AsyncTestClient, tenant_factory: Any, llm: ScriptedLLM, agent_file: Path
) -> None:
    tenant = await tenant_factory(role="editor")
    client.headers.update(tenant.headers)
    llm.plan(Stream(["Checking", tool_call("noop", {})]), Stream(["Hello ", "there."]))
    out = io.StringIO()
    chat_id = await chat_session(client, str(agent_file), message="hi", out=out)
    printed = out.getvalue()
    assert "Checking\n  → noop({})\n  ← noop: ok\nHello there.\n" in printed

    llm.plan(Reply("Still here."))
    lines = iter(["", "are you there?", "/exit"])
    out = io.StringIO()
    again = await chat_session(
        client, str(agent_file), chat_id=chat_id, read=lambda _: next(lines), out=out
    )
    assert again == chat_id
    assert out.getvalue() == "Still here.\n"
    history = (await client.get(f"/chats/{chat_id}/messages")).json()["items"]
    assert [m["content"] for m in history] == [
        "hi",
        "Hello there.",
        "are you there?",
        "Still here.",
    ]
    chat = (await client.get(f"/chats/{chat_id}")).json()
    assert chat["agent_id"] == "cli-bot"


async def test_refusals_are_one_line_errors(
    client: AsyncTestClient, tenant_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPORUNNER_LLM_MODEL", raising=False)
    tenant = await tenant_factory(role="editor")
    client.headers.update(tenant.headers)
    with pytest.raises(ChatFailed, match=r"503.*REPORUNNER_LLM_MODEL"):
        await chat_session(client, "helper", message="hi", out=io.StringIO())
    with pytest.raises(ChatFailed, match="404"):
        await chat_session(
            client, "helper", message="hi", out=io.StringIO(),
            chat_id="00000000-0000-0000-0000-000000000000",
        )  # fmt: skip


def test_missing_api_key_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REPORUNNER_API_KEY", raising=False)
    assert main(["chat", "helper", "-m", "hi"]) == 2
    assert "REPORUNNER_API_KEY" in capsys.readouterr().err
