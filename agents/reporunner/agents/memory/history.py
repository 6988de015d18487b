"""Short-term memory: a thread's messages cut to a token budget, older turns summarised.

The newest messages are kept verbatim while they fit the budget; everything older is folded
into a running summary written by the LLM, so a long conversation keeps its gist without
growing the prompt (and the bill) on every turn. ``covered`` counts how many of the oldest
messages the summary already includes, so each message is summarised once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reporunner.agents.llm import _litellm
from reporunner.agents.llm.client import LLMClient
from reporunner.agents.llm.types import Message, Usage

__all__ = ["HistoryWindow", "count_tokens", "window_history"]

TokenCounter = Callable[[Sequence[Message]], int]

_SUMMARY_PROMPT = (
    "Summarise the conversation below for your own later reference: keep facts, names, "
    "numbers, decisions and open questions; drop pleasantries. At most 200 words."
)


def count_tokens(messages: Sequence[Message], model: str = "gpt-4o-mini") -> int:
    """Tokens of ``messages`` by litellm's counter (offline tokenizer; ~chars/4 if it fails)."""
    try:
        return int(_litellm.litellm().token_counter(model=model, messages=list(messages)))
    except Exception:  # unknown model or odd content: estimate rather than fail
        return sum(len(str(m.get("content") or "")) // 4 + 4 for m in messages)


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """The history to send: a summary message (if any) followed by the recent messages.

    Attributes:
        messages: What to put before the new user message.
        summary: The running summary (store it on the thread).
        covered: How many of the oldest messages ``summary`` includes (store it too).
        usage: Tokens and cost spent on summarising.
    """

    messages: list[Message]
    summary: str
    covered: int
    usage: Usage = field(default_factory=Usage)


def _split(messages: Sequence[Message], budget: int, counter: TokenCounter) -> int:
    """Index of the first message kept verbatim (the newest that fit the budget)."""
    used = 0
    start = len(messages)
    for index in range(len(messages) - 1, -1, -1):
        cost = counter([messages[index]])
        if used + cost > budget and start < len(messages):
            break
        used += cost
        start = index
    # never start on a tool result whose assistant tool call was cut away
    while start < len(messages) and messages[start].get("role") == "tool":
        start += 1
    return start


def _transcript(messages: Sequence[Message]) -> str:
    lines = []
    for message in messages:
        content = message.get("content")
        if content:
            lines.append(f"{message.get('role', '?')}: {content}")
    return "\n".join(lines)


async def window_history(
    messages: Sequence[Message],
    *,
    budget_tokens: int,
    summary: str = "",
    covered: int = 0,
    client: LLMClient | None = None,
    counter: TokenCounter | None = None,
) -> HistoryWindow:
    """Cut ``messages`` (oldest first) to ``budget_tokens``, summarising what falls out.

    Args:
        messages: The whole thread so far (without the new user message).
        budget_tokens: Tokens the verbatim part may use.
        summary: The thread's summary so far.
        covered: Messages (from the start) already folded into ``summary``.
        client: Writes the summary; without one, dropped messages are simply left out.
        counter: Token counter (default: :func:`count_tokens`).
    """
    count = counter or count_tokens
    start = max(_split(messages, budget_tokens, count), min(covered, len(messages)))
    usage = Usage()
    new = list(messages[covered:start]) if start > covered else []
    if new and client is not None:
        prompt: list[Message] = [
            {"role": "system", "content": _SUMMARY_PROMPT},
            {
                "role": "user",
                "content": (f"Earlier summary:\n{summary}\n\n" if summary else "")
                + f"Conversation:\n{_transcript(new)}",
            },
        ]
        response = await client.complete(prompt, temperature=0)
        summary = (response.content or summary).strip()
        usage = response.usage
    window: list[Message] = []
    if summary:
        window.append(
            {"role": "system", "content": f"Summary of the earlier conversation:\n{summary}"}
        )
    window.extend(messages[start:])
    return HistoryWindow(window, summary, max(start, covered), usage)
