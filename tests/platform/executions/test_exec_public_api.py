"""The public surfaces of ``reporunner.platform.executions`` and ``...workflows``."""

from __future__ import annotations

import importlib

import pytest

from reporunner.platform.executions import build_services
from reporunner.platform.executions.node_services import subworkflow_provider
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
