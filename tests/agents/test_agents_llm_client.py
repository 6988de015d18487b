"""The LLM client over the scripted litellm provider: retries, fallbacks, streaming, usage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reporunner.agents.errors import LLMCallFailed, LLMNotConfigured
from reporunner.agents.llm import (
    LLMClient,
    LLMConfig,
    RetryNotice,
    StreamDone,
    TextDelta,
    ToolCallDelta,
    resolve_llm_config,
)
from reporunner.agents.testing import (
    Fail,
    Hang,
    Reply,
    ScriptedLLM,
    Stream,
    scripted_llm,
    tool_call,
)


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


USER = [{"role": "user", "content": "hi"}]


async def test_text_answer_with_usage(llm: ScriptedLLM) -> None:
    llm.plan(Reply("hello", prompt_tokens=7, completion_tokens=3))
    response = await LLMClient(LLMConfig("scripted/m")).complete(USER)
    assert response.content == "hello"
    assert response.tool_calls == ()
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (7, 3)
    assert response.usage.cost_usd == 0.0  # unknown model: free, not an error
    assert llm.requests[0].messages == USER


async def test_tool_calls_are_returned(llm: ScriptedLLM) -> None:
    llm.plan(Reply(tool_calls=[tool_call("lookup", {"q": "x"}, id="c1")]))
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    response = await LLMClient(LLMConfig("scripted/m")).complete(USER, tools=tools)
    assert [(c.id, c.name, c.parsed_arguments()) for c in response.tool_calls] == [
        ("c1", "lookup", {"q": "x"})
    ]
    assert llm.requests[0].tool_names == ["lookup"]
    assert response.as_message()["tool_calls"][0]["function"]["name"] == "lookup"


async def test_cost_from_registered_prices(llm: ScriptedLLM) -> None:
    llm.price("scripted/priced", 1e-6, 2e-6)
    llm.plan(Reply("a", prompt_tokens=1000, completion_tokens=500))
    response = await LLMClient(LLMConfig("scripted/priced")).complete(USER)
    assert response.usage.cost_usd == pytest.approx(0.002)


async def test_retries_honour_retry_after(llm: ScriptedLLM) -> None:
    llm.plan(Fail(429, retry_after=7), Fail(503), Reply("ok"))
    sleeps = Sleeps()
    notices: list[RetryNotice] = []

    async def on_retry(notice: RetryNotice) -> None:
        notices.append(notice)

    config = LLMConfig("scripted/m", max_retries=3, backoff_base_s=0.5, backoff_max_s=30)
    response = await LLMClient(config, sleep=sleeps, on_retry=on_retry).complete(USER)
    assert response.content == "ok"
    assert sleeps.delays[0] == 7.0  # the server's Retry-After, not our backoff
    assert 0.5 <= sleeps.delays[1] <= 1.0  # second retry: backoff of attempt 2 (base * 2, jitter)
    assert [n.status for n in notices] == [429, 503]
    assert notices[0].retry_after_s == 7.0
    assert len(llm.requests) == 3


async def test_retry_after_is_capped(llm: ScriptedLLM) -> None:
    llm.plan(Fail(429, retry_after=3600), Reply("ok"))
    sleeps = Sleeps()
    await LLMClient(LLMConfig("scripted/m", backoff_max_s=20), sleep=sleeps).complete(USER)
    assert sleeps.delays == [20]


async def test_fallback_model_after_retries(llm: ScriptedLLM) -> None:
    llm.plan(Fail(500), Fail(500), Reply("from fallback"))
    config = LLMConfig("scripted/primary", fallback_models=("scripted/backup",), max_retries=1)
    response = await LLMClient(config, sleep=Sleeps()).complete(USER)
    assert response.content == "from fallback"
    assert response.model == "scripted/backup"
    assert [r.model for r in llm.requests] == ["primary", "primary", "backup"]


async def test_non_transient_error_skips_retries(llm: ScriptedLLM) -> None:
    llm.plan(Fail(400, "bad request"), Reply("second model"))
    config = LLMConfig("scripted/a", fallback_models=("scripted/b",), max_retries=3)
    sleeps = Sleeps()
    response = await LLMClient(config, sleep=sleeps).complete(USER)
    assert response.model == "scripted/b"
    assert sleeps.delays == []


async def test_exhausted_retries_raise_typed_error(llm: ScriptedLLM) -> None:
    llm.plan(Fail(429), Fail(429))
    with pytest.raises(LLMCallFailed, match="tried scripted/m") as info:
        await LLMClient(LLMConfig("scripted/m", max_retries=1), sleep=Sleeps()).complete(USER)
    assert info.value.retryable is True


async def test_per_call_timeout_then_retry(llm: ScriptedLLM) -> None:
    llm.plan(Hang(), Reply("after timeout"))
    config = LLMConfig("scripted/m", timeout_s=0.05, max_retries=1)
    response = await LLMClient(config, sleep=Sleeps()).complete(USER)
    assert response.content == "after timeout"


async def test_streaming_deltas_and_assembled_tool_calls(llm: ScriptedLLM) -> None:
    llm.plan(
        Stream(
            ["Hel", "lo", tool_call("lookup", {"q": "weather in Paris"}, id="c9")],
            prompt_tokens=4,
            completion_tokens=6,
        )
    )
    events = [e async for e in LLMClient(LLMConfig("scripted/m")).stream(USER)]
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert texts == ["Hel", "lo"]
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(pieces) == 2
    assert pieces[0].name == "lookup"
    assert isinstance(events[-1], StreamDone)
    done = events[-1].response
    assert done.content == "Hello"
    assert [(c.id, c.name, c.parsed_arguments()) for c in done.tool_calls] == [
        ("c9", "lookup", {"q": "weather in Paris"})
    ]
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (4, 6)
    assert llm.requests[0].stream is True


async def test_stream_retries_before_first_chunk(llm: ScriptedLLM) -> None:
    llm.plan(Fail(429, retry_after=1), Stream(["ok"]))
    sleeps = Sleeps()
    events = [e async for e in LLMClient(LLMConfig("scripted/m"), sleep=sleeps).stream(USER)]
    assert sleeps.delays == [1.0]
    assert isinstance(events[-1], StreamDone)
    assert events[-1].response.content == "ok"


def test_no_model_configured_is_one_clear_error() -> None:
    with pytest.raises(LLMNotConfigured) as info:
        resolve_llm_config(None, env={})
    message = info.value.detail
    assert "REPORUNNER_LLM_MODEL" in message
    assert "OPENAI_API_KEY" in message
    assert "ollama" in message
    assert info.value.code == "llm_not_configured"


def test_missing_provider_key_names_the_variable() -> None:
    with pytest.raises(LLMNotConfigured, match="OPENAI_API_KEY"):
        resolve_llm_config("openai/gpt-4o-mini", env={})


def test_resolution_order() -> None:
    env = {"REPORUNNER_LLM_MODEL": "ollama/llama3.2", "REPORUNNER_LLM_API_BASE": "http://h:1"}
    config = resolve_llm_config(None, env=env)
    assert (config.model, config.api_base) == ("ollama/llama3.2", "http://h:1")
    keyed = resolve_llm_config("openai/gpt-4o-mini", api_key="sk-x", env=env)
    assert keyed.model == "openai/gpt-4o-mini"
    assert "sk-x" not in repr(keyed)
    with pytest.raises(LLMNotConfigured, match="provider prefix"):
        resolve_llm_config("gpt-4o", env={})
