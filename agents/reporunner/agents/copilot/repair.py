"""The bounded propose → check → repair conversation with the model.

One loop serves generation and edits: the model answers through a forced tool call; the
answer is checked (parse, shape, the engine's validator); every problem goes back to the model
as the tool's result, and it tries again, at most ``max_repairs`` times. Nothing invalid ever
leaves the loop: when the rounds are used up it raises :class:`CopilotFailed` with the problems
that were left.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from reporunner.agents.copilot.errors import CopilotFailed
from reporunner.agents.copilot.prompt import problems_feedback, tool_choice
from reporunner.agents.llm.types import LLMResponse, Message, Usage
from reporunner.nodes.errors import Problem

__all__ = [
    "Attempt",
    "CompletionClient",
    "LoopResult",
    "Validator",
    "run_repair_loop",
]

T = TypeVar("T")


class CompletionClient(Protocol):
    """The part of :class:`reporunner.agents.llm.LLMClient` the copilot uses."""

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
        """One answer."""
        ...


Validator = Callable[[Mapping[str, Any]], Sequence[Problem]]
"""Checks a raw definition; the platform passes ``lambda d: validate(d, registry)``."""

Check = Callable[[dict[str, Any]], Awaitable[tuple[T | None, list[Problem]]]]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One answer of the model and what was wrong with it (empty when it was accepted)."""

    problems: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class LoopResult(Generic[T]):
    """The accepted value with the history that led to it."""

    value: T
    attempts: tuple[Attempt, ...]
    usage: Usage = field(default_factory=Usage)
    messages: tuple[Message, ...] = ()


def _arguments(
    response: LLMResponse, tool: str
) -> tuple[dict[str, Any] | None, str | None, Problem | None]:
    """(arguments, tool call id, problem): the tool call's arguments, else a JSON object in the
    text (models that ignore tool_choice), else a problem for the model."""
    for call in response.tool_calls:
        if call.name == tool:
            try:
                return call.parsed_arguments(), call.id, None
            except ValueError as err:
                return (
                    None,
                    call.id,
                    _problem("invalid_tool_arguments", f"the {tool} arguments are invalid: {err}"),
                )
    text = (response.content or "").strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value, None, None
    other = response.tool_calls[0].id if response.tool_calls else None
    return (
        None,
        other,
        _problem(
            "no_tool_call", f"answer by calling the {tool} tool (no other tool, no plain text)"
        ),
    )


def _problem(code: str, message: str) -> Problem:
    return Problem("", code, message)


async def run_repair_loop(
    llm: CompletionClient,
    messages: list[Message],
    tool: dict[str, Any],
    check: Check[T],
    *,
    max_repairs: int = 3,
    edit: bool = False,
    temperature: float | None = None,
) -> LoopResult[T]:
    """Ask, check, and send the problems back until an answer passes ``check``.

    Args:
        llm: The model client.
        messages: The conversation so far (appended to in place).
        tool: The tool the model must call; its arguments go to ``check``.
        check: Returns (value, []) for an acceptable answer, else (None, problems).
        max_repairs: Repair rounds after the first answer.
        edit: Word the feedback for a patch instead of a whole definition.
        temperature: Sampling temperature (None: the provider's default).

    Raises:
        CopilotFailed: the last answer still had problems (they are attached).
        LLMCallFailed: the model could not be reached.
    """
    name = str(tool["function"]["name"])
    attempts: list[Attempt] = []
    usage = Usage()
    problems: list[Problem] = []
    last_args: dict[str, Any] | None = None
    for _ in range(max_repairs + 1):
        response = await llm.complete(
            messages, tools=[tool], tool_choice=tool_choice(name), temperature=temperature
        )
        usage = usage + response.usage
        messages.append(response.as_message())
        args, call_id, problem = _arguments(response, name)
        if args is None:
            problems = [problem] if problem is not None else []
        else:
            last_args = args
            value, problems = await check(args)
            if value is not None and not problems:
                attempts.append(Attempt(()))
                return LoopResult(value, tuple(attempts), usage, tuple(messages))
        attempts.append(Attempt(tuple(p.as_dict() for p in problems)))
        feedback = problems_feedback(problems, name, edit=edit)
        if call_id is not None:
            messages.append({"role": "tool", "tool_call_id": call_id, "content": feedback})
            for extra in response.tool_calls:
                if extra.id != call_id:
                    messages.append(
                        {"role": "tool", "tool_call_id": extra.id, "content": "ignored"}
                    )
        else:
            messages.append({"role": "user", "content": feedback})
    first = problems[0].message if problems else "no answer"
    raise CopilotFailed(
        f"the model did not produce a valid workflow in {len(attempts)} attempt(s); "
        f"{len(problems)} problem(s) left, e.g. {first}. Rephrase the request or try a "
        "stronger model",
        problems,
        attempts=len(attempts),
        last_definition=last_args,
    )
