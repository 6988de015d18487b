"""LLM access: one client over litellm (retries, fallbacks, timeouts, streaming, accounting)."""

from reporunner.agents.llm.client import LLMClient, RetryNotice
from reporunner.agents.llm.config import LLMConfig, resolve_llm_config
from reporunner.agents.llm.types import (
    LLMResponse,
    Message,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "LLMClient",
    "LLMConfig",
    "LLMResponse",
    "Message",
    "RetryNotice",
    "StreamDone",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "resolve_llm_config",
]
