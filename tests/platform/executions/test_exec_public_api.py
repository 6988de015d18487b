"""The public surfaces of ``reporunner.platform.executions`` and ``...workflows``."""

from __future__ import annotations

import importlib
import uuid
from typing import cast

import pytest

from reporunner.nodes.registry import default_registry
from reporunner.platform.chats.providers import AGENT_PROVIDERS, registry_provider
from reporunner.platform.executions import build_services
from reporunner.platform.executions.node_services import subworkflow_provider
from reporunner.platform.resources import Resources
from reporunner.platform.worker import PROVIDERS


@pytest.mark.parametrize(
    "module", ["reporunner.platform.executions", "reporunner.platform.workflows"]
)
def test_every_public_name_imports_and_all_is_sorted(module: str) -> None:
    mod = importlib.import_module(module)
    names = list(mod.__all__)
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert getattr(mod, name) is not None, name


def test_the_subworkflow_service_is_provided_by_default() -> None:
    assert subworkflow_provider in PROVIDERS
    assert callable(build_services)


def test_runs_offer_agents_the_services_chats_offer() -> None:
    # one list of agent services: the chat service builds a turn's services from it, the worker
    # adds it to every run's (executions itself names none of them)
    assert set(AGENT_PROVIDERS) <= set(PROVIDERS)
    assert len(PROVIDERS) == len(set(PROVIDERS))


def test_outside_a_run_the_registry_service_is_the_default_registry() -> None:
    name, registry = registry_provider(cast(Resources, None), uuid.uuid4())
    assert name == "registry"
    assert registry is default_registry()
