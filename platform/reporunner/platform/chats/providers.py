"""Execution service providers for the AI nodes (add them to
``reporunner.platform.executions.node_services.PROVIDERS``).

``memory``: the agents' long-term memory over the platform database; ``llm``: the default model
from ``REPORUNNER_LLM_MODEL`` (None when unset, so nodes fall back to their own settings and the
environment, and finally to the one clear "no model configured" error); ``registry``: the node
types of the run, which the agent's node tools are resolved from.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from reporunner.agents.llm import LLMConfig
from reporunner.agents.memory import MEMORY
from reporunner.platform.resources import Resources
from reporunner.platform.settings import Settings

if TYPE_CHECKING:
    from reporunner.platform.executions.node_services import RunInfo

__all__ = ["default_llm_config", "llm_provider", "memory_provider", "registry_provider"]


def memory_provider(resources: Resources, workspace_id: uuid.UUID, run: RunInfo) -> tuple[str, Any]:
    """``"memory"``: :class:`~reporunner.agents.memory.SqlMemoryStore` on the platform DB."""
    from reporunner.platform.chats.memories import memory_store

    return MEMORY, memory_store(resources)


def default_llm_config(settings: Settings) -> LLMConfig | None:
    """The settings' default model with its fallback and base URL; None when unset."""
    if not settings.llm_model:
        return None
    fallbacks = (settings.llm_fallback_model,) if settings.llm_fallback_model else ()
    return LLMConfig(
        model=settings.llm_model, api_base=settings.llm_api_base, fallback_models=fallbacks
    )


def llm_provider(resources: Resources, workspace_id: uuid.UUID, run: RunInfo) -> tuple[str, Any]:
    """``"llm"``: the settings' default :class:`~reporunner.agents.llm.LLMConfig` (or None)."""
    return "llm", default_llm_config(resources.settings)


def registry_provider(
    resources: Resources, workspace_id: uuid.UUID, run: RunInfo
) -> tuple[str, Any]:
    """``"registry"``: the run's node registry (agents resolve node tools in it)."""
    return "registry", run.registry
