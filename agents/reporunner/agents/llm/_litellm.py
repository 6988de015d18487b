"""The one place that imports litellm, so that it is imported lazily and offline.

litellm fetches its model price map from the internet at import time unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set; we set it (only if unset) right before the first
import, when the first LLM feature is used, never at our own import time. The import goes
through :func:`reporunner.nodes.ssrf_litellm.guard_litellm`, which routes every HTTP request
litellm makes through the SSRF guard.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

from reporunner.nodes.ssrf_litellm import guard_litellm

__all__ = ["cost_of", "cost_of_tokens", "litellm", "missing_keys"]

_module: ModuleType | None = None


def litellm() -> ModuleType:
    """The litellm module, imported on first use with the bundled (offline) price map."""
    global _module
    if _module is None:
        module: Any = guard_litellm()  # Any: litellm's settings are plain module attributes
        module.suppress_debug_info = True
        _warm_up(module)
        _module = module
    return _module


def _warm_up(module: ModuleType) -> None:
    """Build litellm's response models once with pydantic's ``ReadOnly`` notice silenced.

    pydantic warns (once per schema build) that litellm's TypedDicts use ``ReadOnly``; that is
    litellm's business, not a problem of ours, and it would turn into an error wherever
    warnings are errors (our tests) at the first response of a process.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ReadOnly.*", category=UserWarning)
        module.ModelResponse()
        module.ModelResponseStream()


def missing_keys(model: str) -> list[str]:
    """Environment variables litellm wants for ``model`` (empty when it knows of none)."""
    try:
        report: dict[str, Any] = litellm().validate_environment(model=model)
    except Exception:  # an unknown provider simply has no known keys
        return []
    return [str(k) for k in report.get("missing_keys") or []]


def cost_of(response: Any, model: str) -> float:
    """USD cost of one response: litellm's own figure, else its price map, else 0.

    Unknown models (local servers, custom providers without registered prices) cost 0 rather
    than failing the call.
    """
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost")
    if isinstance(cost, int | float) and cost >= 0:
        return float(cost)
    try:
        return float(litellm().completion_cost(completion_response=response, model=model))
    except Exception:  # price unknown: free, never fail the call
        return 0.0


def cost_of_tokens(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """USD cost of a token count by litellm's price map (0 for unknown models)."""
    try:
        prompt_cost, completion_cost = litellm().cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # price unknown: free, never fail the call
        return 0.0
    return float(prompt_cost) + float(completion_cost)
