"""Which model to call, where, with which key: :class:`LLMConfig` and how it is resolved.

A node's own params win over the engine's defaults (the ``llm`` service, fed from the
platform settings), which win over the environment read *at call time* (never at import time):
``REPORUNNER_LLM_MODEL``, ``REPORUNNER_LLM_API_BASE``, ``REPORUNNER_LLM_FALLBACK_MODEL``.
Provider keys (``OPENAI_API_KEY``...) are read by litellm itself unless an ``api_key``
credential supplies one, and only for the provider's own base URL or the operator's: a base
URL chosen in a node or a chat request gets the workspace's credential or no key at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reporunner.agents.errors import LLMNotConfigured

__all__ = [
    "ENV_API_BASE",
    "ENV_FALLBACK",
    "ENV_MODEL",
    "KEY_PARAM_PROVIDERS",
    "NO_KEY",
    "LLMConfig",
    "check_user_base",
    "resolve_llm_config",
]

ENV_MODEL = "REPORUNNER_LLM_MODEL"
ENV_API_BASE = "REPORUNNER_LLM_API_BASE"
ENV_FALLBACK = "REPORUNNER_LLM_FALLBACK_MODEL"

_LOCAL_PROVIDERS = ("ollama", "ollama_chat", "hosted_vllm", "vllm", "lm_studio", "llamafile")


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Everything the client needs for one model family.

    Attributes:
        model: litellm model string, ``provider/model`` (``openai/gpt-4o-mini``...).
        api_base: OpenAI-compatible or Ollama base URL; None for the provider's default.
        api_key: Key for the provider; None lets litellm read the provider's variable.
        fallback_models: Tried in order when ``model`` keeps failing.
        timeout_s: Upper bound of one call (each attempt), enforced here, not only by litellm.
        max_retries: Retries per model on 429/5xx/timeouts/connection errors.
        backoff_base_s: First backoff; doubles per retry (with jitter), capped by backoff_max_s.
        backoff_max_s: Longest wait between attempts, Retry-After included.
        extra: More keyword arguments for ``litellm.acompletion`` (``top_p``, ``seed``...).
        api_base_from_user: True when ``api_base`` came from a node, a chat request or a parent
            agent's such params rather than the operator; then no server-environment provider
            key is sent there (see :meth:`LLMClient`), only a key the workspace supplied.
    """

    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    fallback_models: tuple[str, ...] = ()
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    api_base_from_user: bool = False

    def with_model(self, model: str) -> LLMConfig:
        """The same config for another model (used by fallbacks and sub-agents)."""
        return replace(self, model=model)

    @property
    def models(self) -> tuple[str, ...]:
        """The primary model followed by its fallbacks, without duplicates."""
        return tuple(dict.fromkeys((self.model, *self.fallback_models)))


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def resolve_llm_config(
    model: str | None = None,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    fallback_models: tuple[str, ...] | list[str] = (),
    defaults: LLMConfig | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> LLMConfig:
    """Merge explicit values, engine defaults and the environment into one :class:`LLMConfig`.

    Args:
        model: Model string from the node or the request; wins when set.
        api_base: Base URL from the node; wins when set.
        api_key: Key from a bound ``api_key`` credential; wins when set.
        fallback_models: Fallbacks from the node; replaces the defaults' when non-empty.
        defaults: The engine's configured defaults (platform settings), if any.
        env: Environment to read (``os.environ`` when None), read now, not at import.
        **overrides: Other :class:`LLMConfig` fields (``timeout_s``, ``max_retries``...).

    Raises:
        LLMNotConfigured: no model anywhere, or the model's provider key is missing.
    """
    environ = os.environ if env is None else env
    chosen = (
        _clean(model)
        or (defaults.model if defaults is not None else None)
        or _clean(environ.get(ENV_MODEL))
    )
    if chosen is None:
        raise LLMNotConfigured()
    if "/" not in chosen:
        raise LLMNotConfigured(
            f"LLM model '{chosen}' has no provider prefix; write it as 'provider/model', e.g. "
            f"'openai/{chosen}' or 'ollama/{chosen}' (REPORUNNER_LLM_MODEL or the 'model' param)"
        )
    user_base = _clean(api_base)
    operator_base = _clean(environ.get(ENV_API_BASE))
    inherited = defaults.api_base if defaults is not None else None
    base = user_base or inherited or operator_base
    if user_base is not None:
        from_user = user_base not in (inherited, operator_base) or bool(
            defaults is not None and defaults.api_base_from_user and user_base == inherited
        )
    else:
        from_user = bool(inherited and defaults is not None and defaults.api_base_from_user)
    fallbacks = tuple(m for m in (_clean(f) for f in fallback_models) if m)
    if not fallbacks and defaults is not None:
        fallbacks = defaults.fallback_models
    if not fallbacks and (env_fallback := _clean(environ.get(ENV_FALLBACK))):
        fallbacks = (env_fallback,)
    key = api_key or (defaults.api_key if defaults is not None else None)
    start = defaults if defaults is not None else LLMConfig(model=chosen)
    config = replace(
        start,
        model=chosen,
        api_base=base,
        api_key=key,
        fallback_models=fallbacks,
        api_base_from_user=from_user,
        **overrides,
    )
    check_user_base(config)
    check_provider_key(config, environ)
    return config


KEY_PARAM_PROVIDERS = frozenset(
    {
        "openai",
        "text-completion-openai",
        "custom_openai",
        "openai_like",
        "litellm_proxy",
        "ollama",
        "ollama_chat",
        "hosted_vllm",
        "vllm",
        "lm_studio",
        "llamafile",
        "anthropic",
        "groq",
        "mistral",
        "deepseek",
        "together_ai",
        "openrouter",
        "fireworks_ai",
        "xai",
        "cohere",
        "cohere_chat",
        "perplexity",
    }
)
"""Providers whose only credential is the ``api_key`` argument: a user-chosen ``api_base`` is
allowed for them (the key sent is the workspace's own or none). Providers that sign with
other server credentials (Bedrock, Vertex, Azure AD, SageMaker...) would carry those to the
user's host, so a user ``api_base`` is refused for them."""

NO_KEY = "reporunner-no-key"
"""Sent instead of a server-environment key to a base URL a user chose without a credential."""


def _custom_providers() -> set[str]:
    import reporunner.agents.llm._litellm as bridge

    providers = getattr(bridge.litellm(), "custom_provider_map", None) or []
    return {str(entry.get("provider")) for entry in providers if isinstance(entry, dict)}


def check_user_base(config: LLMConfig) -> None:
    """Refuse a user-chosen ``api_base`` for a provider that would send it server credentials.

    Raises:
        LLMNotConfigured: naming the provider and what to do instead.
    """
    from reporunner.nodes.ssrf_litellm import refused_providers

    for model in config.models:
        provider = model.split("/", 1)[0]
        if provider in refused_providers:
            raise LLMNotConfigured(
                f"LLM provider '{provider}' is not supported (its HTTP cannot pass the SSRF "
                "guard); use 'openai/...' with the same base URL instead"
            )
        if not config.api_base_from_user or provider in KEY_PARAM_PROVIDERS:
            continue
        if provider in _custom_providers():
            continue
        raise LLMNotConfigured(
            f"LLM model '{model}': a custom api_base is only allowed for providers that take "
            f"an api_key ({', '.join(sorted(KEY_PARAM_PROVIDERS))}); leave api_base empty for "
            f"'{provider}' or ask the operator to set REPORUNNER_LLM_API_BASE"
        )


def check_provider_key(config: LLMConfig, env: Mapping[str, str]) -> None:
    """Fail early, with the variable's name, when the provider's key is missing.

    Local servers (a custom ``api_base``, Ollama, vLLM) and providers litellm does not know
    keys for are let through; the provider then answers for itself.
    """
    if config.api_key or config.api_base:
        return
    provider = config.model.split("/", 1)[0]
    if provider in _LOCAL_PROVIDERS:
        return
    import reporunner.agents.llm._litellm as bridge

    missing = [k for k in bridge.missing_keys(config.model) if not env.get(k)]
    if missing:
        raise LLMNotConfigured(
            f"LLM model '{config.model}' needs {' and '.join(missing)}; set it in the "
            "environment, bind an 'api_key' credential to the node, or use a local model "
            "(REPORUNNER_LLM_MODEL=ollama/llama3.2 with REPORUNNER_LLM_API_BASE)"
        )
