"""The one LLM client: litellm with retries, Retry-After, fallbacks, timeouts and accounting.

Every AI feature goes through :class:`LLMClient`, so that a rate-limited provider, a dead local
server or a missing key behave the same in the agent node, the classifier and chat runs.
litellm's own retries are switched off (``num_retries=0``) so that exactly one policy applies:
ours, which honours the provider's Retry-After and moves on to the fallback models.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Span, StatusCode

from reporunner.agents.errors import LLMCallFailed
from reporunner.agents.llm import _litellm
from reporunner.agents.llm._retry import backoff_delay, is_transient, retry_after_seconds
from reporunner.agents.llm.config import NO_KEY, LLMConfig
from reporunner.agents.llm.types import (
    LLMResponse,
    Message,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from reporunner.nodes import tracing

__all__ = ["LLMClient", "RetryNotice"]


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """Told to ``on_retry`` before each wait: which model failed how, and the wait chosen."""

    model: str
    attempt: int
    delay_s: float
    error: str
    status: int | None
    retry_after_s: float | None
    fallback_to: str | None = None


Sleep = Callable[[float], Awaitable[None]]
OnRetry = Callable[[RetryNotice], Awaitable[None]]


class LLMClient:
    """Chat completions over litellm for one :class:`LLMConfig`.

    Args:
        config: Model, base URL, key, fallbacks, timeout and retry policy.
        sleep: Awaited between attempts (tests pass a recorder instead of waiting).
        on_retry: Awaited with a :class:`RetryNotice` before each retry or fallback.
    """

    def __init__(
        self, config: LLMConfig, *, sleep: Sleep | None = None, on_retry: OnRetry | None = None
    ) -> None:
        self.config = config
        self._sleep: Sleep = sleep or asyncio.sleep
        self._on_retry = on_retry

    def _kwargs(self, model: str, messages: Sequence[Message], **call: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            **self.config.extra,
            "model": model,
            "messages": list(messages),
            "timeout": self.config.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,  # e.g. temperature on models that refuse it, instead of a 400
            # litellm imports its MCP gateway (and the optional 'mcp' package) whenever tools
            # are passed; our tools are plain functions, so skip that path.
            "_skip_mcp_handler": True,
        }
        if self.config.api_base:
            kwargs["api_base"] = self.config.api_base
        if self.config.api_key:
            kwargs["api_key"] = self.config.api_key
        elif self.config.api_base and self.config.api_base_from_user:
            # never let litellm fill in the server's OPENAI_API_KEY... for a host a user chose
            kwargs["api_key"] = NO_KEY
        kwargs.update({k: v for k, v in call.items() if v is not None})
        return kwargs

    async def _notify(self, notice: RetryNotice) -> None:
        if self._on_retry is not None:
            await self._on_retry(notice)

    async def _attempts(self, call: Callable[[str], Awaitable[Any]]) -> tuple[str, Any]:
        """Run ``call(model)`` under the retry and fallback policy; (model, result)."""
        models = self.config.models
        last: BaseException | None = None
        for position, model in enumerate(models):
            next_model = models[position + 1] if position + 1 < len(models) else None
            for attempt in range(1, self.config.max_retries + 2):
                try:
                    async with asyncio.timeout(self.config.timeout_s):
                        return model, await call(model)
                except (asyncio.CancelledError, KeyboardInterrupt):
                    raise
                except Exception as err:  # classified below, never swallowed
                    last = err
                    transient = is_transient(err)
                    retry_after = retry_after_seconds(err)
                    status = _litellm_status(err)
                    if not transient or attempt > self.config.max_retries:
                        if next_model is not None:
                            await self._notify(
                                RetryNotice(
                                    model,
                                    attempt,
                                    0.0,
                                    _describe(err),
                                    status,
                                    retry_after,
                                    fallback_to=next_model,
                                )
                            )
                        break
                    delay = backoff_delay(
                        attempt, self.config.backoff_base_s, self.config.backoff_max_s, retry_after
                    )
                    await self._notify(
                        RetryNotice(model, attempt, delay, _describe(err), status, retry_after)
                    )
                    await self._sleep(delay)
        assert last is not None
        tried = ", ".join(models)
        raise LLMCallFailed(
            f"the LLM call failed ({_describe(last)}); tried {tried}. Check the model name, "
            "the provider key and the provider status, or set a fallback model",
            retryable=is_transient(last),
        ) from last

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> LLMResponse:
        """One answer (text and/or tool calls) with its usage.

        Raises:
            LLMCallFailed: every attempt on every model failed.
        """
        litellm = _litellm.litellm()

        async def call(model: str) -> Any:
            return await litellm.acompletion(
                **self._kwargs(
                    model,
                    messages,
                    tools=list(tools) if tools else None,
                    tool_choice=tool_choice if tools else None,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    response_format=response_format,
                )
            )

        span = self._span(streaming=False)
        try:
            model, raw = await self._attempts(call)
            response = _to_response(raw, model)
        except BaseException as err:
            _end_span(span, None, err)
            raise
        _end_span(span, response, None)
        return response

    def _span(self, *, streaming: bool) -> Span | None:
        """The call's span (model, tokens and cost are set when it ends); None when off."""
        if not tracing.enabled():
            return None
        return tracing.start(
            f"chat {self.config.models[0]}",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": self.config.models[0],
                "reporunner.llm.streaming": streaming,
            },
            kind=tracing.SpanKind.CLIENT,
        )

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Stream an answer: :class:`TextDelta` and :class:`ToolCallDelta` events in arrival
        order, then one :class:`StreamDone` with the assembled response and its usage.

        Retries and fallbacks apply until the first chunk arrives; a stream that breaks later
        raises :class:`LLMCallFailed` (text already shown cannot be taken back).
        """
        litellm = _litellm.litellm()

        async def call(model: str) -> tuple[Any, Any]:
            stream = await litellm.acompletion(
                **self._kwargs(
                    model,
                    messages,
                    stream=True,
                    stream_options={"include_usage": True},
                    tools=list(tools) if tools else None,
                    tool_choice=tool_choice if tools else None,
                    temperature=temperature,
                    max_tokens=max_tokens,
                )
            )
            iterator = stream.__aiter__()
            try:
                first = await iterator.__anext__()
            except StopAsyncIteration:
                first = None
            return iterator, first

        span = self._span(streaming=True)
        response: LLMResponse | None = None
        failure: BaseException | None = None
        try:
            model, (iterator, first) = await self._attempts(call)
            assembler = _StreamAssembler(model)
            chunk = first
            while chunk is not None:
                for event in assembler.feed(chunk):
                    yield event
                try:
                    async with asyncio.timeout(self.config.timeout_s):
                        chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    chunk = None
                except Exception as err:  # re-raised as our type
                    raise LLMCallFailed(
                        f"the LLM stream from {model} broke off ({_describe(err)})",
                        retryable=is_transient(err),
                    ) from err
            response = assembler.response()
            yield StreamDone(response)
        except GeneratorExit:
            raise  # the consumer stopped early: not a failure of the call
        except BaseException as err:
            failure = err
            raise
        finally:
            _end_span(span, response, failure)


class _StreamAssembler:
    """Turns litellm stream chunks into events and the final :class:`LLMResponse`."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.text: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def feed(self, chunk: Any) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        for choice in getattr(chunk, "choices", None) or []:
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                self.text.append(delta.content)
                events.append(TextDelta(delta.content))
            for part in delta.tool_calls or []:
                index = int(part.index or 0)
                slot = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
                function = part.function
                name = getattr(function, "name", None) if function is not None else None
                args = (getattr(function, "arguments", None) or "") if function else ""
                if part.id:
                    slot["id"] = part.id
                if name:
                    slot["name"] += name
                slot["arguments"] += args
                events.append(ToolCallDelta(index, part.id, name, args))
        return events

    def response(self) -> LLMResponse:
        calls = tuple(
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"])
            for i, c in sorted(self.calls.items())
        )
        cost = _litellm.cost_of_tokens(self.model, self.prompt_tokens, self.completion_tokens)
        return LLMResponse(
            content="".join(self.text) or None,
            tool_calls=calls,
            finish_reason=self.finish_reason or ("tool_calls" if calls else "stop"),
            model=self.model,
            usage=Usage(self.prompt_tokens, self.completion_tokens, cost, calls=1),
        )


def _to_response(raw: Any, model: str) -> LLMResponse:
    choice = raw.choices[0]
    message = choice.message
    calls = tuple(
        ToolCall(
            id=call.id or f"call_{i}",
            name=call.function.name or "",
            arguments=call.function.arguments or "",
        )
        for i, call in enumerate(getattr(message, "tool_calls", None) or [])
    )
    usage = getattr(raw, "usage", None)
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    return LLMResponse(
        content=message.content,
        tool_calls=calls,
        finish_reason=choice.finish_reason,
        model=model,
        usage=Usage(prompt, completion, _litellm.cost_of(raw, model), calls=1),
    )


def _end_span(span: Span | None, response: LLMResponse | None, err: BaseException | None) -> None:
    if span is None:
        return
    if response is not None:
        span.set_attributes(
            {
                "gen_ai.response.model": response.model,
                "gen_ai.usage.input_tokens": response.usage.prompt_tokens,
                "gen_ai.usage.output_tokens": response.usage.completion_tokens,
                "reporunner.llm.cost_usd": float(response.usage.cost_usd or 0.0),
                "gen_ai.response.finish_reasons": [response.finish_reason or ""],
                "reporunner.llm.tool_calls": len(response.tool_calls),
            }
        )
    if err is not None:
        span.record_exception(err)
        span.set_status(StatusCode.ERROR, _describe(err))
    span.end()


def _litellm_status(err: BaseException) -> int | None:
    status = getattr(err, "status_code", None)
    return status if isinstance(status, int) else None


def _describe(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "timed out"
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:300]
