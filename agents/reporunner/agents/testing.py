"""A scripted LLM provider for tests: planned answers through the real litellm code path.

:class:`ScriptedLLM` is a litellm ``CustomLLM`` registered in ``litellm.custom_provider_map``
under a provider name (``scripted`` by default), so ``model="scripted/anything"`` goes through
``litellm.acompletion`` — message handling, response objects, stream wrapping, exception
mapping — and nothing touches the network. Each call takes the next planned step:

* :class:`Reply` — text and/or tool calls (made with :func:`tool_call`), with token counts;
* :class:`Stream` — text pieces and tool calls sent as stream chunks (a non-streaming call
  gets them joined);
* :class:`Fail` — an HTTP-status error (429 with Retry-After, 500, 503, 400...);
* :class:`Hang` — never answers (for per-call timeouts);
* any callable ``(ScriptedRequest) -> step`` — decides from what the model was sent.

Example::

    with scripted_llm() as llm:
        llm.plan(Fail(429, retry_after=2), Reply("hello"))
        response = await LLMClient(LLMConfig("scripted/m")).complete([...])
        assert llm.requests[1].messages[-1]["content"] == "..."

:meth:`ScriptedLLM.price` registers per-token prices for a scripted model so cost accounting
can be checked.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from reporunner.agents.llm import _litellm

__all__ = [
    "Fail",
    "Hang",
    "PlannedToolCall",
    "Reply",
    "ScriptedLLM",
    "ScriptedRequest",
    "Step",
    "Stream",
    "scripted_llm",
    "tool_call",
]


@dataclass(frozen=True, slots=True)
class PlannedToolCall:
    """A tool call the scripted model makes."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str = ""

    def arguments_json(self) -> str:
        """The arguments as the JSON text a model writes (a str is sent verbatim)."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


def tool_call(
    name: str, arguments: Mapping[str, Any] | str | None = None, id: str = ""
) -> PlannedToolCall:
    """A planned tool call; ``arguments`` may be a dict or raw (possibly invalid) JSON text."""
    return PlannedToolCall(name, {} if arguments is None else arguments, id)


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete answer: text, tool calls, or both."""

    text: str | None = None
    tool_calls: Sequence[PlannedToolCall] = ()
    prompt_tokens: int = 10
    completion_tokens: int = 5


@dataclass(frozen=True, slots=True)
class Stream:
    """An answer sent as chunks: each str is a text delta, each tool call is sent in two
    pieces (name first, then the arguments) to exercise assembly."""

    chunks: Sequence[str | PlannedToolCall]
    prompt_tokens: int = 10
    completion_tokens: int = 5


@dataclass(frozen=True, slots=True)
class Fail:
    """An error answer with an HTTP status (and Retry-After, seconds or HTTP date)."""

    status: int
    message: str = "scripted failure"
    retry_after: float | str | None = None


@dataclass(frozen=True, slots=True)
class Hang:
    """An answer that never comes (the caller's timeout must fire)."""


@dataclass(frozen=True, slots=True)
class ScriptedRequest:
    """What one call sent to the scripted model."""

    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    stream: bool
    api_key: str | None = None
    """The provider key litellm was called with (from a credential or the environment)."""

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools offered with this call."""
        return [t["function"]["name"] for t in self.params.get("tools") or []]

    @property
    def last_user(self) -> str:
        """Text of the last user message."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return str(message.get("content") or "")
        return ""


Step = Reply | Stream | Fail | Hang | Callable[[ScriptedRequest], "Reply | Stream | Fail | Hang"]


def _error(step: Fail, model: str) -> Exception:
    lib = _litellm.litellm()
    headers = {} if step.retry_after is None else {"retry-after": str(step.retry_after)}
    request = httpx.Request("POST", "https://scripted.invalid/v1/chat/completions")
    response = httpx.Response(step.status, headers=headers, request=request)
    common: dict[str, Any] = {"message": step.message, "llm_provider": "scripted", "model": model}
    by_status: dict[int, Any] = {
        400: lib.BadRequestError,
        401: lib.AuthenticationError,
        404: lib.NotFoundError,
        429: lib.RateLimitError,
        500: lib.InternalServerError,
        502: lib.BadGatewayError,
        503: lib.ServiceUnavailableError,
    }
    cls = by_status.get(step.status)
    if cls is None:
        return lib.APIError(status_code=step.status, request=request, **common)  # type: ignore[no-any-return]
    return cls(response=response, **common)  # type: ignore[no-any-return]


def _base() -> type:
    base: type = _litellm.litellm().CustomLLM
    return base


class ScriptedLLM(_base()):  # type: ignore[misc]
    """litellm custom provider answering from a plan (see the module docstring)."""

    def __init__(self, provider: str = "scripted") -> None:
        super().__init__()
        self.provider = provider
        self._plan: deque[Step] = deque()
        self.requests: list[ScriptedRequest] = []
        self.step_errors: list[Exception] = []

    def plan(self, *steps: Step) -> ScriptedLLM:
        """Append steps to the plan (consumed one per call, in order)."""
        self._plan.extend(steps)
        return self

    @property
    def remaining(self) -> int:
        """Steps not consumed yet (tests assert 0 at the end)."""
        return len(self._plan)

    def price(self, model: str, input_per_token: float, output_per_token: float) -> None:
        """Register per-token USD prices for ``model`` (``scripted/<name>``) in litellm."""
        _litellm.litellm().register_model(
            {
                model: {
                    "input_cost_per_token": input_per_token,
                    "output_cost_per_token": output_per_token,
                    "litellm_provider": self.provider,
                    "mode": "chat",
                }
            }
        )

    def _next(
        self,
        model: str,
        messages: list[Any],
        params: dict[str, Any],
        stream: bool,
        api_key: str | None = None,
    ) -> Reply | Stream | Fail | Hang:
        request = ScriptedRequest(
            model=model,
            messages=[dict(m) for m in messages],
            params=dict(params),
            stream=stream,
            api_key=api_key,
        )
        self.requests.append(request)
        if not self._plan:
            lib = _litellm.litellm()
            raise lib.BadRequestError(
                message=f"scripted LLM: no planned answer left for call #{len(self.requests)} "
                f"(last user message: {request.last_user[:200]!r}); plan more steps",
                llm_provider="scripted",
                model=model,
            )
        step = self._plan.popleft()
        try:
            resolved = step(request) if callable(step) else step
        except Exception as err:  # a failed assertion in a test's step: report, never retry
            self.step_errors.append(err)
            raise _litellm.litellm().BadRequestError(
                message=f"scripted LLM: step for call #{len(self.requests)} raised "
                f"{type(err).__name__}: {err}",
                llm_provider="scripted",
                model=model,
            ) from err
        if isinstance(resolved, Fail):
            raise _error(resolved, model)
        return resolved

    async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
        model = kwargs["model"]
        step = self._next(
            model,
            kwargs["messages"],
            kwargs.get("optional_params") or {},
            False,
            kwargs.get("api_key"),
        )
        if isinstance(step, Hang):
            await asyncio.Event().wait()
        if isinstance(step, Stream):
            texts = [c for c in step.chunks if isinstance(c, str)]
            calls = [c for c in step.chunks if isinstance(c, PlannedToolCall)]
            step = Reply("".join(texts) or None, calls, step.prompt_tokens, step.completion_tokens)
        assert isinstance(step, Reply)
        message: dict[str, Any] = {"role": "assistant", "content": step.text}
        if step.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for call in step.tool_calls
            ]
        return _litellm.litellm().ModelResponse(
            model=model,
            choices=[
                {"message": message, "finish_reason": "tool_calls" if step.tool_calls else "stop"}
            ],
            usage={
                "prompt_tokens": step.prompt_tokens,
                "completion_tokens": step.completion_tokens,
                "total_tokens": step.prompt_tokens + step.completion_tokens,
            },
        )

    async def astreaming(self, *args: Any, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        model = kwargs["model"]
        step = self._next(
            model,
            kwargs["messages"],
            kwargs.get("optional_params") or {},
            True,
            kwargs.get("api_key"),
        )
        if isinstance(step, Hang):
            await asyncio.Event().wait()
        if isinstance(step, Reply):
            step = Stream(
                [*([step.text] if step.text else []), *step.tool_calls],
                step.prompt_tokens,
                step.completion_tokens,
            )
        assert isinstance(step, Stream)
        index = 0
        for chunk in step.chunks:
            if isinstance(chunk, str):
                yield _chunk(text=chunk)
                continue
            call_id = chunk.id or f"call_{uuid.uuid4().hex[:12]}"
            arguments = chunk.arguments_json()
            half = len(arguments) // 2
            yield _chunk(tool_use=_tool_piece(index, call_id, chunk.name, arguments[:half]))
            yield _chunk(tool_use=_tool_piece(index, None, None, arguments[half:]))
            index += 1
        yield _chunk(
            finished="tool_calls" if index else "stop",
            usage={
                "prompt_tokens": step.prompt_tokens,
                "completion_tokens": step.completion_tokens,
                "total_tokens": step.prompt_tokens + step.completion_tokens,
            },
        )


def _tool_piece(index: int, call_id: str | None, name: str | None, args: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": args},
        "index": index,
    }


def _chunk(
    text: str = "",
    tool_use: dict[str, Any] | None = None,
    finished: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    return {
        "text": text,
        "tool_use": tool_use,
        "is_finished": finished is not None,
        "finish_reason": finished or "",
        "usage": usage,
        "index": 0,
    }


@contextmanager
def scripted_llm(provider: str = "scripted") -> Iterator[ScriptedLLM]:
    """Register a fresh :class:`ScriptedLLM` as ``provider`` for the block, then remove it."""
    lib = _litellm.litellm()
    llm = ScriptedLLM(provider)
    previous = list(lib.custom_provider_map)
    installed = [
        *(p for p in previous if p["provider"] != provider),
        {"provider": provider, "custom_handler": llm},
    ]
    setattr(lib, "custom_provider_map", installed)  # noqa: B010 - module attribute of litellm
    try:
        yield llm
    finally:
        setattr(lib, "custom_provider_map", previous)  # noqa: B010
