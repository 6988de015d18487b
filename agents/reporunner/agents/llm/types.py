"""Plain values the LLM client returns: responses, tool calls, usage and stream events.

Messages themselves stay OpenAI-format dicts (``{"role": ..., "content": ...}``) because they
are JSON-safe, go into checkpoints and the ``chat_messages`` table as they are, and litellm
translates them for every provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LLMResponse",
    "Message",
    "StreamDone",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]

Message = dict[str, Any]
"""One chat message in OpenAI format."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and cost of one or more calls; ``+`` sums them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            calls=self.calls + other.calls,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe dict (node outputs, ``llm.usage`` events, node_runs columns)."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "calls": self.calls,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        """Inverse of :meth:`as_dict` (checkpointed state holds dicts)."""
        return cls(
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
            calls=int(data.get("calls", 0)),
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for; ``arguments`` is the raw JSON text it wrote."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a JSON object.

        Raises:
            ValueError: the model wrote invalid JSON or not an object (the message says which,
                so it can be handed back to the model).
        """
        text = self.arguments.strip() or "{}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"arguments are not valid JSON ({err.msg} at {err.pos})") from None
        if not isinstance(value, dict):
            raise ValueError("arguments must be a JSON object")
        return value

    def as_message_part(self) -> dict[str, Any]:
        """OpenAI ``tool_calls`` entry of the assistant message."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True, slots=True)
class LLMResponse:
    """One completed answer.

    Attributes:
        content: Text of the answer (None when the model only called tools).
        tool_calls: Functions the model asked to call, in order.
        finish_reason: ``stop``, ``tool_calls``, ``length``...
        model: The model that answered (a fallback when the primary failed).
        usage: Tokens and cost of this answer, retries and fallbacks included.
    """

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    model: str = ""
    usage: Usage = field(default_factory=Usage)

    def as_message(self) -> Message:
        """The assistant message to append to the conversation."""
        message: Message = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.as_message_part() for call in self.tool_calls]
        return message


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text, as it streams."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call as it streams (``name`` and ``id`` come with the first piece)."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class StreamDone:
    """Last event of a stream: the assembled answer with its usage."""

    response: LLMResponse


StreamEvent = TextDelta | ToolCallDelta | StreamDone
"""What :meth:`LLMClient.stream` yields."""
