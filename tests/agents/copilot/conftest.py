"""Copilot test helpers: the scripted model, the real registry and the engine's validator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from reporunner.agents.copilot import Copilot
from reporunner.agents.llm import LLMClient, LLMConfig
from reporunner.agents.testing import ScriptedLLM, scripted_llm
from reporunner.nodes.catalog import catalog
from reporunner.nodes.errors import Problem
from reporunner.nodes.registry import NodeRegistry, default_registry
from reporunner.platform.engine import WorkflowDefinition, parse_definition, validate


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture(scope="session")
def registry() -> NodeRegistry:
    return default_registry()


@pytest.fixture(scope="session")
def node_catalog(registry: NodeRegistry) -> list[dict[str, Any]]:
    return catalog(registry)


@pytest.fixture
def copilot(llm: ScriptedLLM, registry: NodeRegistry, node_catalog) -> Copilot:
    def check(raw: Mapping[str, Any]) -> Sequence[Problem]:
        return validate(raw, registry)

    client = LLMClient(LLMConfig("scripted/copilot", max_retries=0))
    return Copilot(
        client,
        check,
        node_catalog,
        max_repairs=3,
        definition_schema=WorkflowDefinition.model_json_schema(),
        normalize=lambda d: parse_definition(d).model_dump(mode="json"),
    )
