"""The tool-calling agent: its configuration, tools, LangGraph loop and one-turn runner."""

from reporunner.agents.agent.loop import LoopState, build_loop, initial_state
from reporunner.agents.agent.run import (
    MAX_AGENT_DEPTH,
    AgentResult,
    client_for,
    emit_usage,
    llm_defaults,
    run_agent,
)
from reporunner.agents.agent.spec import (
    AgentSpec,
    AgentToolSpec,
    AskHumanToolSpec,
    KnowledgeToolSpec,
    MemorySettings,
    ModelSettings,
    NodeToolSpec,
    ToolSpec,
    WorkflowToolSpec,
    tool_name,
)
from reporunner.agents.agent.tools import (
    AgentTool,
    ToolResult,
    bound_output,
    build_tools,
    function_schema,
    memory_tools,
)

__all__ = [
    "MAX_AGENT_DEPTH",
    "AgentResult",
    "AgentSpec",
    "AgentTool",
    "AgentToolSpec",
    "AskHumanToolSpec",
    "KnowledgeToolSpec",
    "LoopState",
    "MemorySettings",
    "ModelSettings",
    "NodeToolSpec",
    "ToolResult",
    "ToolSpec",
    "WorkflowToolSpec",
    "bound_output",
    "build_loop",
    "build_tools",
    "client_for",
    "emit_usage",
    "function_schema",
    "initial_state",
    "llm_defaults",
    "memory_tools",
    "run_agent",
    "tool_name",
]
