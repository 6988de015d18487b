"""The services an agent uses, in a workflow run and in a chat turn alike.

:data:`AGENT_PROVIDERS` lists them; the chat service builds a turn's services from it and the
worker's :data:`~reporunner.platform.worker.node_services.PROVIDERS` adds it to every run's.

``knowledge``: the workspace's knowledge bases; ``mcp``: its MCP servers' tools; ``memory``: the
agents' long-term memory over the platform database; ``llm``: the default model from
``REPORUNNER_LLM_MODEL`` (None when unset, so nodes fall back to their own settings and the
environment, and finally to the one clear "no model configured" error); ``registry``: the node
types of the run (the default registry in a chat), which the agent's node tools are resolved
from.
"""

from __future__ import annotations

import uuid
from typing import Any

from reporunner.agents.llm import LLMConfig
from reporunner.agents.memory import MEMORY
from reporunner.nodes.registry import default_registry
from reporunner.platform.chats.memories import memory_store
from reporunner.platform.executions.node_services import RunInfo, WorkspaceServiceProvider
from reporunner.platform.knowledge.node_service import knowledge_provider
from reporunner.platform.mcp.node_service import mcp_provider
from reporunner.platform.resources import Resources
from reporunner.platform.settings import Settings

__all__ = [
    "AGENT_PROVIDERS",
    "default_llm_config",
    "llm_provider",
    "memory_provider",
    "registry_provider",
]


def memory_provider(
    resources: Resources, workspace_id: uuid.UUID, run: RunInfo | None = None
) -> tuple[str, Any]:
    """``"memory"``: :class:`~reporunner.agents.memory.SqlMemoryStore` on the platform DB."""
    return MEMORY, memory_store(resources)


def default_llm_config(settings: Settings) -> LLMConfig | None:
    """The settings' default model with its fallback and base URL; None when unset."""
    if not settings.llm_model:
        return None
    fallbacks = (settings.llm_fallback_model,) if settings.llm_fallback_model else ()
    return LLMConfig(
        model=settings.llm_model, api_base=settings.llm_api_base, fallback_models=fallbacks
    )


def llm_provider(
    resources: Resources, workspace_id: uuid.UUID, run: RunInfo | None = None
) -> tuple[str, Any]:
    """``"llm"``: the settings' default :class:`~reporunner.agents.llm.LLMConfig` (or None)."""
    return "llm", default_llm_config(resources.settings)


def registry_provider(
    resources: Resources, workspace_id: uuid.UUID, run: RunInfo | None = None
) -> tuple[str, Any]:
    """``"registry"``: the run's node registry, else the default one (agents resolve node
    tools in it)."""
    return "registry", run.registry if run is not None else default_registry()


AGENT_PROVIDERS: tuple[WorkspaceServiceProvider, ...] = (
    knowledge_provider,
    memory_provider,
    llm_provider,
    registry_provider,
    mcp_provider,
)
"""The services every agent gets, in a run or a chat turn; add one here to offer it to both."""
