"""Finding 1: an LLM ``api_base`` bypassed the SSRF guard and carried the server's key to it.

The attack: an editor set ``api_base`` of an ``ai.llm`` node (or a chat's agent) to a listener
on 127.0.0.1; it received ``Authorization: Bearer <the server's OPENAI_API_KEY>``, and pointed
at the API's own port the internal answer came back. Now every litellm request passes the
guard, and a base URL a user chose never gets a server-environment key.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from security_testkit import SERVER_OPENAI_KEY, Listener, Served

from reporunner.agents.errors import LLMCallFailed, LLMNotConfigured
from reporunner.agents.llm import LLMClient, LLMConfig
from reporunner.agents.llm.config import NO_KEY, resolve_llm_config
from reporunner.knowledge.embeddings import LiteLLMEmbedder
from reporunner.knowledge.errors import EmbeddingError
from reporunner.nodes.errors import SSRFBlockedError
from reporunner.nodes.ssrf_litellm import configure, current_policy

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def _strict_guard() -> Iterator[None]:
    configure()
    yield
    configure()


def _cause(err: BaseException) -> BaseException | None:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, SSRFBlockedError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _user_config(model: str, base: str, **kw: Any) -> LLMConfig:
    return resolve_llm_config(model, api_base=base, env={}, max_retries=0, timeout_s=10, **kw)


@pytest.mark.parametrize(
    "model", ["openai/gpt-4o-mini", "ollama/llama3.2", "anthropic/claude-3-5-haiku-latest"]
)
@pytest.mark.parametrize(
    "spelling", ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]", "0x7f.1"]
)
async def test_user_api_base_on_loopback_is_refused_before_connecting(
    listener: Listener, model: str, spelling: str
) -> None:
    config = _user_config(model, f"http://{spelling}:{listener.port}/v1")
    with pytest.raises(LLMCallFailed) as caught:
        await LLMClient(config).complete(MESSAGES)
    blocked = _cause(caught.value)
    assert blocked is not None, repr(caught.value)
    assert "refused to connect" in str(caught.value)
    assert listener.connections == 0


async def test_streaming_call_is_refused_too(listener: Listener) -> None:
    config = _user_config("openai/gpt-4o-mini", f"{listener.url}/v1")
    with pytest.raises(LLMCallFailed) as caught:
        async for _event in LLMClient(config).stream(MESSAGES):
            pass
    assert _cause(caught.value) is not None
    assert listener.connections == 0


async def test_embedding_base_url_is_refused(listener: Listener) -> None:
    embedder = LiteLLMEmbedder(
        "openai/text-embedding-3-small", 8, api_base=f"{listener.url}/v1", api_key="k"
    )
    with pytest.raises(EmbeddingError, match="refused to connect"):
        await embedder.embed(["a"])
    # ollama's default base is http://localhost:11434: private unless the operator allows it
    with pytest.raises(EmbeddingError, match="refused to connect"):
        await LiteLLMEmbedder("ollama/nomic-embed-text", 8).embed(["a"])
    assert listener.connections == 0


async def test_allow_listed_user_base_gets_no_server_key(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_OPENAI_KEY)
    configure(allow_hosts=["127.0.0.1"])
    config = _user_config("openai/gpt-4o-mini", f"{listener.url}/v1")
    answer = await LLMClient(config).complete(MESSAGES)
    assert answer.content == "pwned"  # the operator allowed the host: the call went through
    [request] = listener.received
    assert SERVER_OPENAI_KEY.encode() not in request
    assert f"Bearer {NO_KEY}".encode() in request


async def test_user_base_gets_the_workspace_credential(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_OPENAI_KEY)
    configure(allow_hosts=["127.0.0.1"])
    config = _user_config("openai/gpt-4o-mini", f"{listener.url}/v1", api_key="sk-workspace")
    await LLMClient(config).complete(MESSAGES)
    [request] = listener.received
    assert b"Bearer sk-workspace" in request
    assert SERVER_OPENAI_KEY.encode() not in request


async def test_operator_base_is_reachable_and_gets_the_server_key(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_OPENAI_KEY)
    operator = f"{listener.url}/v1"
    configure(trusted_api_base=operator)
    assert current_policy().host_allowed("127.0.0.1") or current_policy().allow_hosts
    defaults = LLMConfig("openai/gpt-4o-mini", api_base=operator, max_retries=0)
    config = resolve_llm_config(None, defaults=defaults, env={})
    assert not config.api_base_from_user
    await LLMClient(config).complete(MESSAGES)
    [request] = listener.received
    assert f"Bearer {SERVER_OPENAI_KEY}".encode() in request
    # a sub-agent that names the same base inherits the operator's trust; another does not
    again = resolve_llm_config(None, api_base=operator, defaults=config, env={})
    assert not again.api_base_from_user
    other = resolve_llm_config(None, api_base="http://10.0.0.9/v1", defaults=config, env={})
    assert other.api_base_from_user


def test_user_base_refused_for_providers_that_sign_with_server_credentials() -> None:
    with pytest.raises(LLMNotConfigured, match="custom api_base is only allowed"):
        _user_config("bedrock/anthropic.claude-3", "https://attacker.example/")
    with pytest.raises(LLMNotConfigured, match="not supported"):
        resolve_llm_config("aiohttp_openai/gpt-4o", env={"OPENAI_API_KEY": "x"})


# -- against a real `reporunner serve`


def _wait_finished(
    served: Served, execution_id: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    # a hang guard, not a speed bar: the first LLM node a fresh worker runs imports litellm,
    # which took over a minute on a loaded 2-core machine
    deadline = time.monotonic() + 180
    while True:
        body = httpx.get(
            f"{served.base}/executions/{execution_id}",
            headers=headers or served.headers,
            timeout=60,
        ).json()
        if body["status"] not in ("queued", "running"):
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


@pytest.mark.timeout(420)  # may start the session's served instance, then waits on two runs
async def test_served_ai_llm_node_cannot_reach_loopback_or_the_api_itself(
    served: Served, listener: Listener
) -> None:
    editor = {"Authorization": f"Bearer {await served.key_for('editor')}"}  # as in the attack
    for target in (f"{listener.url}/v1", f"{served.base}/v1"):
        definition = {
            "name": f"ssrf-{target}",
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {
                    "id": "ask",
                    "type": "ai.llm",
                    "params": {
                        "model": "openai/gpt-4o-mini",
                        "api_base": target,
                        "prompt": "hi",
                        "max_retries": 0,
                    },
                },
            ],
            "edges": [{"source": "start", "target": "ask"}],
        }
        made = httpx.post(f"{served.base}/workflows", json=definition, headers=editor, timeout=30)
        assert made.status_code == 201, made.text
        run = httpx.post(
            f"{served.base}/workflows/{made.json()['workflow']['id']}/executions",
            json={},
            headers=editor,
            timeout=30,
        )
        assert run.status_code in (200, 201, 202), run.text
        done = _wait_finished(served, run.json()["id"], editor)
        assert done["status"] == "failed", done
        text = str(done)
        assert "refused to connect" in text, text
        assert "loopback" in text, text
        assert "openapi" not in text.lower()  # nothing of the API's own answer came back
    assert listener.connections == 0
    assert SERVER_OPENAI_KEY not in served.output()


@pytest.mark.timeout(300)
def test_served_chat_agent_api_base_is_refused(served: Served, listener: Listener) -> None:
    chat = httpx.post(
        f"{served.base}/chats",
        json={
            "agent_id": "probe",
            "agent": {
                "model": "openai/gpt-4o-mini",
                "api_base": f"{listener.url}/v1",
                "max_retries": 0,
            },
        },
        headers=served.headers,
        timeout=30,
    )
    assert chat.status_code == 201, chat.text
    sent = httpx.post(
        f"{served.base}/chats/{chat.json()['id']}/messages",
        json={"content": "hi"},
        headers=served.headers,
        timeout=60,
    )
    assert "refused to connect" in sent.text, sent.text
    assert listener.connections == 0
