"""The default model, its base URL and its fallback reach nodes through the ``llm`` service."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from reporunner.platform.chats.providers import llm_provider
from reporunner.platform.settings import load_settings


def _resources(**settings: Any) -> Any:
    return SimpleNamespace(settings=load_settings(**settings))


def test_unset_model_offers_none() -> None:
    assert llm_provider(_resources(), uuid.uuid4(), None) == ("llm", None)  # type: ignore[arg-type]


def test_settings_become_the_default_config() -> None:
    name, config = llm_provider(
        _resources(
            llm_model="ollama/llama3.2",
            llm_api_base="http://127.0.0.1:11434",
            llm_fallback_model="openai/gpt-4o-mini",
        ),
        uuid.uuid4(),
        None,  # type: ignore[arg-type]
    )
    assert name == "llm"
    assert (config.model, config.api_base, config.fallback_models) == (
        "ollama/llama3.2",
        "http://127.0.0.1:11434",
        ("openai/gpt-4o-mini",),
    )
