"""``ai.llm``: one prompt in, one answer out (text, or JSON checked against a schema)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from reporunner.agents.agent.run import client_for, emit_usage
from reporunner.agents.agent.spec import ModelSettings
from reporunner.agents.errors import StructuredOutputInvalid
from reporunner.agents.llm.types import Message
from reporunner.agents.structured import (
    check_schema,
    parse_structured,
    repair_message,
    schema_instruction,
)
from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput

__all__ = ["AiLlm", "AiLlmParams"]


class AiLlmParams(ModelSettings):
    """Params of ``ai.llm``."""

    prompt: str = Field(min_length=1, max_length=200_000, description="The user prompt.")
    system_prompt: str = Field(
        default="", max_length=100_000, description="Instructions sent before the prompt."
    )
    output_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema of the answer; the answer is parsed and validated (one repair "
        "round on a validation error) and put in 'json'.",
    )


class AiLlm(Node[AiLlmParams]):
    """Single LLM call per item."""

    type = "ai.llm"
    category = Category.AI
    display_name = "LLM"
    description = (
        "Sends one prompt (expressions allowed) to an LLM once per input item and outputs "
        "{text, json, model, usage: {prompt_tokens, completion_tokens, total_tokens, cost_usd}}. "
        "With output_schema the answer must be JSON matching it ('json' holds the parsed value; "
        "one repair round, then the node fails). The model defaults to REPORUNNER_LLM_MODEL."
    )
    Params = AiLlmParams
    mode = "each"
    credential_types = ("api_key",)
    example: ClassVar[dict[str, Any]] = {
        "prompt": "Summarise in one sentence: {{ item.body }}",
        "model": "openai/gpt-4o-mini",
    }

    async def run(self, ctx: NodeContext, params: AiLlmParams, inputs: NodeInputs) -> NodeOutput:
        if params.output_schema is not None:
            check_schema(params.output_schema)
        client = client_for(params, ctx)
        system = params.system_prompt
        if params.output_schema is not None:
            system = f"{system}\n\n{schema_instruction(params.output_schema)}".strip()
        messages: list[Message] = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": params.prompt})
        kwargs: dict[str, Any] = {
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,
        }
        response = await client.complete(messages, **kwargs)
        usage = response.usage
        value: Any = None
        if params.output_schema is not None:
            value, problems = parse_structured(params.output_schema, response.content)
            if problems:
                messages += [response.as_message(), repair_message(problems)]
                response = await client.complete(messages, **kwargs)
                usage = usage + response.usage
                value, problems = parse_structured(params.output_schema, response.content)
            if problems:
                await emit_usage(ctx, usage, response.model)
                raise StructuredOutputInvalid(
                    "ai.llm: the answer does not match output_schema after a repair round: "
                    + "; ".join(problems[:5]),
                    problems=problems,
                )
        await emit_usage(ctx, usage, response.model)
        return NodeOutput.main(
            [
                {
                    "text": response.content,
                    "json": value,
                    "model": response.model,
                    "usage": usage.as_dict(),
                }
            ]
        )
