"""Errors of the agents part, all under :class:`~reporunner.nodes.errors.ReporunnerError`."""

from __future__ import annotations

from typing import Any

from reporunner.nodes.errors import ConfigurationError, NodeError

__all__ = ["LLMCallFailed", "LLMNotConfigured", "StructuredOutputInvalid"]

NO_MODEL_HELP = (
    "no LLM model is configured: set REPORUNNER_LLM_MODEL (e.g. 'openai/gpt-4o-mini' with "
    "OPENAI_API_KEY, 'anthropic/claude-3-5-haiku-latest' with ANTHROPIC_API_KEY), or point it "
    "at a local server ('ollama/llama3.2' with REPORUNNER_LLM_API_BASE=http://localhost:11434, "
    "or 'openai/<model>' with REPORUNNER_LLM_API_BASE=<your vLLM URL>/v1), or set the node's "
    "'model' param"
)


class LLMNotConfigured(ConfigurationError):
    """No model (or no key for the model) is configured; the message names what to set.

    Every AI feature raises this one error so that users see the same instructions wherever
    they meet it; features that need no LLM never raise it.
    """

    code = "llm_not_configured"
    status = 503

    def __init__(self, detail: str = NO_MODEL_HELP, **extra: Any) -> None:
        super().__init__(detail, **extra)


class LLMCallFailed(NodeError):
    """The LLM provider failed after every retry and fallback model.

    ``retryable`` is true when the last failure was transient (rate limit, 5xx, timeout), so
    the engine's own node retry policy may try again later.
    """

    code = "llm_call_failed"
    status = 502


class StructuredOutputInvalid(NodeError):
    """The model's answer did not match the requested JSON Schema, even after a repair round."""

    code = "structured_output_invalid"
    status = 422
