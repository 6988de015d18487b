"""The tool-calling loop as a LangGraph subgraph: model → tool → tool → ... → model → finish.

Each tool call is its own graph step, so inside an execution (where the subgraph inherits the
engine's Postgres checkpointer) a crash or an ``ask_human`` interrupt resumes at that call:
model answers and earlier tool results come from the checkpoint instead of being paid for and
run again. The state holds only JSON-safe values (messages are OpenAI-format dicts).

Safety rules live here, in one place: only tools in the ``tools`` map are ever executed (a name
the model invents — e.g. one planted in a retrieved document — is refused and reported back),
a failing tool answers the model with its error instead of failing the run, and a tool that
failed ``max_tool_failures`` times is withdrawn.
"""

from __future__ import annotations

import contextlib
import operator
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from opentelemetry.trace import Span, StatusCode
from pydantic import ValidationError

from reporunner.agents.agent.spec import AgentSpec
from reporunner.agents.agent.tools import AgentTool, ToolResult, bound_output, function_schema
from reporunner.agents.errors import StructuredOutputInvalid
from reporunner.agents.llm.client import LLMClient
from reporunner.agents.llm.types import LLMResponse, StreamDone, TextDelta, ToolCall, Usage
from reporunner.agents.structured import parse_structured, repair_message
from reporunner.nodes import tracing
from reporunner.nodes.base import NodeContext
from reporunner.nodes.errors import NodeError, ReporunnerError

__all__ = ["LoopState", "build_loop", "initial_state"]

_PREVIEW_CHARS = 2000


class LoopState(TypedDict, total=False):
    """Checkpointed state of one agent run."""

    messages: Annotated[list[dict[str, Any]], operator.add]
    pending: list[dict[str, Any]]
    usage: dict[str, Any]
    iterations: int
    failures: dict[str, int]
    steps: Annotated[list[dict[str, Any]], operator.add]
    citations: Annotated[list[dict[str, Any]], operator.add]
    repairs: int
    retry: bool
    answer: str | None
    output: Any
    model: str


def initial_state(messages: list[dict[str, Any]]) -> LoopState:
    """The state a run starts from."""
    return LoopState(
        messages=messages,
        pending=[],
        usage=Usage().as_dict(),
        iterations=0,
        failures={},
        steps=[],
        citations=[],
        repairs=0,
        retry=False,
        answer=None,
        output=None,
        model="",
    )


@dataclass(slots=True)
class _Loop:
    spec: AgentSpec
    client: LLMClient
    tools: Mapping[str, AgentTool]
    ctx: NodeContext

    def _offered(self, state: LoopState) -> list[dict[str, Any]]:
        if state.get("iterations", 0) >= self.spec.max_iterations:
            return []  # rounds used up: the next answer must be final
        failures = state.get("failures", {})
        return [
            function_schema(tool)
            for name, tool in self.tools.items()
            if failures.get(name, 0) < self.spec.max_tool_failures
        ]

    async def _ask(self, state: LoopState, offered: list[dict[str, Any]]) -> LLMResponse:
        kwargs: dict[str, Any] = {
            "tools": offered or None,
            "temperature": self.spec.temperature,
            "max_tokens": self.spec.max_tokens,
        }
        if not self.spec.stream:
            return await self.client.complete(state["messages"], **kwargs)
        done: LLMResponse | None = None
        async for event in self.client.stream(state["messages"], **kwargs):
            if isinstance(event, TextDelta):
                await self.ctx.emit("token", {"text": event.text})
            elif isinstance(event, StreamDone):
                done = event.response
        assert done is not None
        return done

    async def model(self, state: LoopState) -> LoopState:
        if self.ctx.is_cancelled():
            raise NodeError("the agent was cancelled")
        offered = self._offered(state)
        response = await self._ask(state, offered)
        calls = response.tool_calls if offered else ()
        message = response.as_message()
        if not calls:
            message.pop("tool_calls", None)
        usage = Usage.from_dict(state.get("usage", {})) + response.usage
        return LoopState(
            messages=[message],
            pending=[{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls],
            usage=usage.as_dict(),
            iterations=state.get("iterations", 0) + 1,
            answer=response.content,
            model=response.model,
            retry=False,
        )

    async def _run_tool(
        self, call: ToolCall, state: LoopState
    ) -> tuple[ToolResult | None, str, bool]:
        """(result, error, executed): exactly one of result and error is set."""
        tool = self.tools.get(call.name)
        if tool is None:
            available = ", ".join(sorted(self.tools)) or "none"
            return (
                None,
                f"no tool named '{call.name}' is available to you (available: {available}); "
                "this call was not executed",
                False,
            )
        failures = state.get("failures", {}).get(call.name, 0)
        if failures >= self.spec.max_tool_failures:
            return None, f"tool '{call.name}' was withdrawn after {failures} failures", False
        try:
            arguments = call.parsed_arguments()
        except ValueError as err:
            return None, str(err), False
        with _tool_span(call.name) as span:
            result, error = await _call(tool, arguments)
            if span is not None and error:
                span.set_status(StatusCode.ERROR, error[:300])
        return result, error, True

    async def tool(self, state: LoopState) -> LoopState:
        pending = list(state.get("pending", []))
        raw = pending.pop(0)
        call = ToolCall(raw["id"], raw["name"], raw["arguments"])
        declared = call.name in self.tools
        iteration = state.get("iterations", 0)
        await self.ctx.emit(
            "node.tool_call",
            {
                "call_id": call.id,
                "tool": call.name,
                "arguments": call.arguments,
                "iteration": iteration,
                "declared": declared,
            },
        )
        started = time.perf_counter()
        result, error, executed = await self._run_tool(call, state)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        failures = dict(state.get("failures", {}))
        update = LoopState(pending=pending)
        if result is None:
            if declared:
                failures[call.name] = failures.get(call.name, 0) + 1
            left = self.spec.max_tool_failures - failures.get(call.name, 0)
            hint = f" ({left} attempt(s) left for this tool)" if declared and left > 0 else ""
            content = f"ERROR: {error}{hint}"
            preview: Any = None
        else:
            content = bound_output(result.content, self.spec.max_tool_output_chars)
            preview = bound_output(result.content, _PREVIEW_CHARS)
            update["citations"] = list(result.citations)
            if result.usage.calls:
                usage = Usage.from_dict(state.get("usage", {})) + result.usage
                update["usage"] = usage.as_dict()
        await self.ctx.emit(
            "node.tool_result",
            {
                "call_id": call.id,
                "tool": call.name,
                "ok": result is not None,
                "output": preview,
                "error": error or None,
                "citations": list(result.citations) if result else [],
                "duration_ms": elapsed_ms,
            },
        )
        update["failures"] = failures
        update["messages"] = [{"role": "tool", "tool_call_id": call.id, "content": content}]
        update["steps"] = [
            {
                "call_id": call.id,
                "tool": call.name,
                "arguments": call.arguments,
                "ok": result is not None,
                "output": preview,
                "error": error or None,
                "citations": list(result.citations) if result else [],
                "executed": executed,
                "iteration": iteration,
                "duration_ms": elapsed_ms,
            }
        ]
        return update

    async def finish(self, state: LoopState) -> LoopState:
        schema = self.spec.output_schema
        if schema is None:
            return LoopState(output=None, retry=False)
        value, problems = parse_structured(schema, state.get("answer"))
        if not problems:
            return LoopState(output=value, retry=False)
        if state.get("repairs", 0) >= 1:
            raise StructuredOutputInvalid(
                "the agent's answer does not match output_schema even after a repair round: "
                + "; ".join(problems[:5])
                + ". Simplify the schema or make the instructions more explicit",
                problems=problems,
            )
        return LoopState(
            messages=[repair_message(problems)], repairs=state.get("repairs", 0) + 1, retry=True
        )


def _after_model(state: LoopState) -> str:
    return "tool" if state.get("pending") else "finish"


def _after_tool(state: LoopState) -> str:
    return "tool" if state.get("pending") else "model"


def _after_finish(state: LoopState) -> str:
    return "model" if state.get("retry") else END


def build_loop(
    spec: AgentSpec, client: LLMClient, tools: Mapping[str, AgentTool], ctx: NodeContext
) -> Any:
    """The compiled subgraph (no checkpointer of its own: it inherits the engine's)."""
    loop = _Loop(spec, client, tools, ctx)
    graph: StateGraph[LoopState, None, LoopState, LoopState] = StateGraph(LoopState)
    graph.add_node("model", loop.model)
    graph.add_node("tool", loop.tool)
    graph.add_node("finish", loop.finish)
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", _after_model, ["tool", "finish"])
    graph.add_conditional_edges("tool", _after_tool, ["tool", "model"])
    graph.add_conditional_edges("finish", _after_finish, ["model", END])
    return graph.compile(name="agent_loop")


async def _call(tool: AgentTool, arguments: dict[str, Any]) -> tuple[ToolResult | None, str]:
    """(result, error) of one tool call; a failure goes back to the model as text."""
    try:
        return await tool.call(arguments), ""
    except GraphBubbleUp:
        raise  # an interrupt (ask_human) must reach the engine untouched
    except ReporunnerError as err:
        return None, err.detail
    except (ValueError, ValidationError) as err:
        return None, str(err)
    except Exception as err:  # any tool bug goes back to the model, not up the stack
        return None, f"{type(err).__name__}: {err}"


def _tool_span(name: str) -> contextlib.AbstractContextManager[Span | None]:
    """The tool call's span (a child of the agent node's); a no-op while tracing is off."""
    if not tracing.enabled():
        return tracing.span("")
    return tracing.span(f"tool {name}", {"gen_ai.tool.name": name})
