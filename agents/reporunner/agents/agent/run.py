"""Run one agent turn: resolve the model, recall memories, build tools, run the loop, account.

:func:`run_agent` is what the ``ai.agent`` node, chat runs and agent-as-tool all call, so an
agent behaves the same wherever it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reporunner.agents.agent.loop import build_loop, initial_state
from reporunner.agents.agent.spec import AgentSpec, ModelSettings
from reporunner.agents.agent.tools import (
    AgentTool,
    ToolResult,
    build_tools,
    mcp_tool_lists,
    memory_tools,
)
from reporunner.agents.llm.client import LLMClient, RetryNotice
from reporunner.agents.llm.config import LLMConfig, resolve_llm_config
from reporunner.agents.llm.types import Message, Usage
from reporunner.agents.memory.service import MEMORY, MemoryScope, MemoryService
from reporunner.agents.structured import check_schema, schema_instruction
from reporunner.nodes.base import Item, NodeContext
from reporunner.nodes.credentials import ApiKeyCredential
from reporunner.nodes.errors import CredentialError, NodeError

__all__ = [
    "MAX_AGENT_DEPTH",
    "AgentResult",
    "client_for",
    "emit_usage",
    "llm_defaults",
    "run_agent",
]

MAX_AGENT_DEPTH = 3
"""Agents calling agents calling agents stop here (a loop of agents would never end)."""


@dataclass(frozen=True, slots=True)
class AgentResult:
    """The outcome of one agent turn.

    Attributes:
        answer: The final text answer.
        output: The validated JSON answer when ``output_schema`` was set, else None.
        messages: The whole conversation of the turn (system prompt included).
        steps: One record per tool call (tool, arguments, ok, output preview, error, citations,
            executed...), stored with a chat answer so that a reload shows each step.
        citations: Knowledge passages the answer may cite (document, page, heading, chunk id).
        usage: Tokens and cost, sub-agents and summaries included.
        iterations: Model calls made.
        model: The model that gave the final answer.
    """

    answer: str | None
    output: Any
    messages: list[Message]
    steps: list[dict[str, Any]]
    citations: list[dict[str, Any]]
    usage: Usage
    iterations: int
    model: str
    recalled: list[str] = field(default_factory=list)

    def as_item(self) -> dict[str, Any]:
        """The node's output item."""
        return {
            "text": self.answer,
            "output": self.output,
            "tool_calls": self.steps,
            "citations": self.citations,
            "usage": self.usage.as_dict(),
            "iterations": self.iterations,
            "model": self.model,
            "recalled_memories": self.recalled,
        }


async def emit_usage(ctx: NodeContext, usage: Usage, model: str) -> None:
    """Report a node run's LLM totals: ``llm.usage`` (the agents' event, with the details) and
    ``usage`` (``tokens_in``/``tokens_out``/``cost_usd``, which the execution hooks add to the
    node run and the execution)."""
    await ctx.emit("llm.usage", {**usage.as_dict(), "model": model})
    await ctx.emit(
        "usage",
        {
            "tokens_in": usage.prompt_tokens,
            "tokens_out": usage.completion_tokens,
            "cost_usd": usage.cost_usd,
            "model": model,
        },
    )


def llm_defaults(ctx: NodeContext) -> LLMConfig | None:
    """The engine's default :class:`LLMConfig` (``llm`` service), if it offers one."""
    try:
        service = ctx.service("llm")
    except NodeError:
        return None
    return service if isinstance(service, LLMConfig) else None


def _api_key(ctx: NodeContext) -> str | None:
    try:
        credential = ctx.credential("api_key")
    except CredentialError:
        return None
    if isinstance(credential, ApiKeyCredential):
        return credential.api_key.get_secret_value()
    return None


def client_for(
    spec: ModelSettings, ctx: NodeContext, inherit: LLMConfig | None = None
) -> LLMClient:
    """An :class:`LLMClient` for ``spec`` in ``ctx``: the node's model settings, else the
    parent agent's (``inherit``), else the engine's defaults, else the environment; the key
    from a bound ``api_key`` credential, else the provider's environment variable.

    Raises:
        LLMNotConfigured: no model anywhere, or its key is missing.
    """
    config = resolve_llm_config(
        spec.model,
        api_base=spec.api_base,
        api_key=_api_key(ctx),
        fallback_models=[spec.fallback_model] if spec.fallback_model else [],
        defaults=inherit or llm_defaults(ctx),
        timeout_s=spec.timeout_s,
        max_retries=spec.max_retries,
    )

    async def on_retry(notice: RetryNotice) -> None:
        await ctx.emit(
            "llm.retry",
            {
                "model": notice.model,
                "attempt": notice.attempt,
                "delay_s": notice.delay_s,
                "status": notice.status,
                "error": notice.error,
                "fallback_to": notice.fallback_to,
            },
        )

    return LLMClient(config, on_retry=on_retry)


def _memory(spec: AgentSpec, ctx: NodeContext) -> tuple[MemoryService, MemoryScope] | None:
    if not spec.memory.enabled:
        return None
    service = ctx.service(MEMORY)
    if not isinstance(service, MemoryService):
        raise NodeError("the engine's 'memory' service does not implement MemoryService")
    scope = MemoryScope(
        workspace_id=ctx.workspace_id,
        agent_id=spec.memory.agent_id or ctx.node_id,
        end_user_id=spec.memory.end_user_id,
    )
    return service, scope


async def run_agent(
    spec: AgentSpec,
    ctx: NodeContext,
    prompt: str,
    *,
    item: Item | None = None,
    history: Sequence[Message] = (),
    client: LLMClient | None = None,
    depth: int = 0,
    report_usage: bool = True,
) -> AgentResult:
    """Run one turn of ``spec`` answering ``prompt`` (after ``history``).

    Raises:
        LLMNotConfigured: no model is configured.
        LLMCallFailed: the provider failed after retries and fallbacks.
        StructuredOutputInvalid: the answer missed ``output_schema`` after the repair round.
        ValidationFailed: the agent's configuration is inconsistent (invalid schema...).
    """
    if spec.output_schema is not None:
        check_schema(spec.output_schema)
    llm = client or client_for(spec, ctx)
    current = item if item is not None else {}

    async def run_sub(sub: AgentSpec, task: str) -> ToolResult:
        if depth + 1 >= MAX_AGENT_DEPTH:
            raise NodeError(
                f"agents may nest {MAX_AGENT_DEPTH} deep at most; this sub-agent is not run"
            )
        sub_client = client_for(sub, ctx, inherit=llm.config) if sub.model is None else None
        result = await run_agent(
            sub, ctx, task, item=current, client=sub_client, depth=depth + 1, report_usage=False
        )
        content = result.output if result.output is not None else result.answer
        return ToolResult(content, tuple(result.citations), result.usage)

    listed = await mcp_tool_lists(spec, ctx)
    tools: dict[str, AgentTool] = build_tools(spec, ctx, current, run_sub, mcp_tools=listed)
    system = spec.system_prompt
    if spec.output_schema is not None:
        system = f"{system}\n\n{schema_instruction(spec.output_schema)}"
    messages: list[Message] = [{"role": "system", "content": system}]
    recalled: list[str] = []
    memory = _memory(spec, ctx)
    if memory is not None:
        service, scope = memory
        for extra in memory_tools(service, scope, spec.memory.recall_top_k):
            tools.setdefault(extra.name, extra)
        if spec.memory.auto_recall:
            found = await service.recall(scope, prompt, spec.memory.recall_top_k)
            recalled = [record.text for record in found]
        if recalled:
            facts = "\n".join(f"- {fact}" for fact in recalled)
            messages.append(
                {
                    "role": "system",
                    "content": "Facts remembered from earlier conversations with this user "
                    f"(may be outdated):\n{facts}",
                }
            )
    messages.extend(dict(m) for m in history)
    messages.append({"role": "user", "content": prompt})
    graph = build_loop(spec, llm, tools, ctx)
    final = await graph.ainvoke(
        initial_state(messages), config={"recursion_limit": 40 + spec.max_iterations * 40}
    )
    usage = Usage.from_dict(final.get("usage", {}))
    result = AgentResult(
        answer=final.get("answer"),
        output=final.get("output"),
        messages=list(final.get("messages", [])),
        steps=list(final.get("steps", [])),
        citations=_unique(final.get("citations", [])),
        usage=usage,
        iterations=int(final.get("iterations", 0)),
        model=str(final.get("model", "")),
        recalled=recalled,
    )
    if report_usage:
        await emit_usage(ctx, usage, result.model)
    return result


def _unique(citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for citation in citations:
        key = str(citation.get("chunk_id"))
        if key not in seen:
            seen.add(key)
            out.append(citation)
    return out
