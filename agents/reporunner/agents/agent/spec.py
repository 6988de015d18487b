"""The agent configuration: model settings, tools, memory and structured output.

:class:`AgentSpec` is the one shape of an agent everywhere: the ``ai.agent`` node's params
(plus its input ``prompt``), a chat thread's ``agent_config``, and a sub-agent used as a tool.
Tools are a discriminated union on ``kind`` so that the catalog (and the copilot) see each
variant's fields with their descriptions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AgentSpec",
    "AgentToolSpec",
    "AskHumanToolSpec",
    "KnowledgeToolSpec",
    "McpToolSpec",
    "MemorySettings",
    "ModelSettings",
    "NodeToolSpec",
    "ToolSpec",
    "WorkflowToolSpec",
    "tool_name",
]

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def tool_name(text: str) -> str:
    """A function name providers accept (``[a-zA-Z0-9_-]{1,64}``) made from ``text``."""
    name = re.sub(r"[^a-zA-Z0-9_-]+", "_", text).strip("_")[:64]
    return name or "tool"


def _check_name(value: str | None) -> str | None:
    if value is not None and not _NAME_RE.match(value):
        raise ValueError(
            f"tool name '{value}' must be 1-64 letters, digits, '_' or '-' (providers refuse "
            "other characters)"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSettings(_Strict):
    """Which model answers and how hard the client tries."""

    model: str | None = Field(
        default=None,
        description="litellm model string, e.g. 'openai/gpt-4o-mini', 'anthropic/claude-3-5-"
        "haiku-latest', 'ollama/llama3.2'; empty uses REPORUNNER_LLM_MODEL.",
    )
    fallback_model: str | None = Field(
        default=None, description="Model tried when the main one keeps failing."
    )
    api_base: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server or Ollama (local models).",
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Sampling temperature (provider default if empty)."
    )
    max_tokens: int | None = Field(
        default=None, ge=1, le=200_000, description="Upper bound of tokens per answer."
    )
    timeout_s: float = Field(default=120.0, gt=0, le=3600, description="Timeout of one call.")
    max_retries: int = Field(
        default=3, ge=0, le=10, description="Retries on rate limits, 5xx and timeouts."
    )


class _ToolBase(_Strict):
    name: str | None = Field(
        default=None, description="Name the model sees (derived from the tool when empty)."
    )
    description: str | None = Field(
        default=None, description="What the tool does, for the model (a default is derived)."
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return _check_name(value)


class NodeToolSpec(_ToolBase):
    """Any registered node as a tool: its params JSON Schema becomes the tool's arguments."""

    kind: Literal["node"] = Field(description="A node of the registry.")
    node_type: str = Field(description="Node type, e.g. 'http.request'.")
    version: int | None = Field(default=None, ge=1, description="Node version (latest if empty).")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Fixed params: hidden from the model and never overridable by it (e.g. a "
        "fixed URL or SQL text).",
    )


class KnowledgeToolSpec(_ToolBase):
    """``knowledge.search`` over chosen knowledge bases; results carry citations."""

    kind: Literal["knowledge"] = Field(description="Search knowledge bases.")
    knowledge_bases: list[str] = Field(
        min_length=1, description="Knowledge base names or ids of this workspace."
    )
    top_k: int = Field(default=5, ge=1, le=50, description="Passages returned per search.")
    mode: Literal["vector", "keyword", "hybrid"] = Field(
        default="hybrid", description="Search mode."
    )


class WorkflowToolSpec(_ToolBase):
    """Another workflow of the workspace, run and awaited as a tool."""

    kind: Literal["workflow"] = Field(description="Run a sub-workflow.")
    workflow_id: str = Field(description="Id of the workflow (its published version runs).")
    input_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema of the item the model passes (a free-form object if empty).",
    )


class AgentToolSpec(_ToolBase):
    """Another agent as a tool: the model hands it a task and gets its answer."""

    kind: Literal["agent"] = Field(description="Delegate to another agent.")
    agent: AgentSpec = Field(description="The sub-agent's configuration.")


class AskHumanToolSpec(_ToolBase):
    """Lets the agent pause the execution and ask a human; the answer resumes it."""

    kind: Literal["ask_human"] = Field(description="Ask a human (interrupts the execution).")


class McpToolSpec(_Strict):
    """The tools of an MCP server the workspace registered (``/mcp-servers``); the model sees
    each as ``<server>__<tool>`` with the server's JSON Schema of its arguments."""

    kind: Literal["mcp"] = Field(description="Tools of a registered MCP server.")
    server: str = Field(
        min_length=1, max_length=100, description="Name of the MCP server in this workspace."
    )
    tools: list[str] | None = Field(
        default=None,
        description="Only these tools of the server (by the server's names); all when empty.",
    )


ToolSpec = Annotated[
    NodeToolSpec
    | KnowledgeToolSpec
    | WorkflowToolSpec
    | AgentToolSpec
    | AskHumanToolSpec
    | McpToolSpec,
    Field(discriminator="kind"),
]


class MemorySettings(_Strict):
    """Long-term semantic memory of the agent (``memories`` table) and history windowing."""

    enabled: bool = Field(
        default=False, description="Give the agent remember/recall tools and auto-recall."
    )
    agent_id: str | None = Field(
        default=None,
        description="Memory scope name of this agent (defaults to the workflow node id).",
    )
    end_user_id: str = Field(
        default="", description="End user the memories belong to (e.g. '{{ trigger.user_id }}')."
    )
    auto_recall: bool = Field(
        default=True, description="Recall relevant memories before answering."
    )
    recall_top_k: int = Field(default=3, ge=1, le=20, description="Memories recalled at most.")
    history_tokens: int = Field(
        default=3000,
        ge=200,
        le=200_000,
        description="Token budget of the thread history; older turns are summarised.",
    )


class AgentSpec(ModelSettings):
    """An agent: instructions, tools, limits, memory and optional structured output."""

    system_prompt: str = Field(
        default="You are a helpful assistant. Use the tools when they help; answer concisely.",
        max_length=100_000,
        description="Instructions for the agent.",
    )
    tools: list[ToolSpec] = Field(
        default_factory=list, description="Tools the agent may call (nothing else is ever run)."
    )
    max_iterations: int = Field(
        default=8, ge=1, le=50, description="Tool-calling rounds before a final answer is forced."
    )
    max_tool_failures: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Failures of one tool after which it is withdrawn from the agent.",
    )
    max_tool_output_chars: int = Field(
        default=8000,
        ge=200,
        le=200_000,
        description="Tool results are cut to this size before they go back to the model.",
    )
    output_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema of the answer: the agent must answer with matching JSON (one "
        "repair round on a validation error).",
    )
    memory: MemorySettings = Field(
        default_factory=MemorySettings, description="Long-term memory and history settings."
    )
    stream: bool = Field(
        default=False, description="Stream tokens as 'token' events while answering."
    )


AgentToolSpec.model_rebuild()
