"""``ai.agent``: a tool-calling agent (LangGraph loop) answering one prompt per item."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reporunner.agents.agent.run import client_for, emit_usage, run_agent
from reporunner.agents.agent.spec import AgentSpec
from reporunner.agents.llm.types import Message
from reporunner.agents.memory.history import window_history
from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput

__all__ = ["AiAgent", "AiAgentParams", "ChatTurn"]


class ChatTurn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"] = Field(description="Who wrote it.")
    content: str = Field(description="What was written.")


class AiAgentParams(AgentSpec):
    """Params of ``ai.agent``: the agent's configuration plus this run's prompt."""

    prompt: str = Field(
        min_length=1, max_length=200_000, description="The user message (expressions allowed)."
    )
    history: list[ChatTurn] = Field(
        default_factory=list,
        description="Earlier turns of the conversation, oldest first; cut to "
        "memory.history_tokens with older turns summarised.",
    )


class AiAgent(Node[AiAgentParams]):
    """The agent node."""

    type = "ai.agent"
    category = Category.AI
    display_name = "AI agent"
    description = (
        "An LLM agent that answers 'prompt' once per input item, calling its declared tools "
        "(any node type, knowledge-base search with citations, sub-workflows, other agents, "
        "asking a human) in a loop of at most max_iterations rounds; only declared tools ever "
        "run. Outputs {text, output (JSON when output_schema is set), tool_calls, citations, "
        "usage: {prompt_tokens, completion_tokens, total_tokens, cost_usd}, iterations, model}. "
        "Each tool call is emitted as node.tool_call/node.tool_result events."
    )
    Params = AiAgentParams
    mode = "each"
    credential_types = ("api_key",)
    example: ClassVar[dict[str, Any]] = {
        "prompt": "{{ trigger.message }}",
        "system_prompt": "You answer questions about our handbook. Cite your sources.",
        "tools": [{"kind": "knowledge", "knowledge_bases": ["handbook"]}],
        "max_iterations": 5,
    }

    async def run(self, ctx: NodeContext, params: AiAgentParams, inputs: NodeInputs) -> NodeOutput:
        items = inputs.get("main") or [{}]
        client = client_for(params, ctx)
        history: list[Message] = [turn.model_dump() for turn in params.history]
        summary_usage = None
        if history:
            window = await window_history(
                history, budget_tokens=params.memory.history_tokens, client=client
            )
            history, summary_usage = window.messages, window.usage
        result = await run_agent(
            params,
            ctx,
            params.prompt,
            item=items[0],
            history=history,
            client=client,
            report_usage=summary_usage is None or summary_usage.calls == 0,
        )
        item = result.as_item()
        if summary_usage is not None and summary_usage.calls:
            total = result.usage + summary_usage
            item["usage"] = total.as_dict()
            await emit_usage(ctx, total, result.model)
        return NodeOutput.main([item])
