"""The public surface of reporunner.nodes: every name importable, ``__all__`` sorted."""

from __future__ import annotations

import importlib

import pytest

import reporunner.nodes as api

MODULES = [
    "reporunner.nodes",
    "reporunner.nodes.base",
    "reporunner.nodes.errors",
    "reporunner.nodes.registry",
    "reporunner.nodes.expressions",
    "reporunner.nodes.credentials",
    "reporunner.nodes.catalog",
    "reporunner.nodes.logging",
]


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    group = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return group, name


@pytest.mark.parametrize("module_name", MODULES)
def test_all_is_sorted_and_every_name_imports(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(module, name) is not None, name


def test_package_reexports_the_public_names_of_its_modules() -> None:
    skipped = {("reporunner.nodes.catalog", "catalog")}  # would shadow the module
    for module_name in MODULES[1:]:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if (module_name, name) in skipped or module_name.endswith(".logging"):
                continue
            assert name in api.__all__, f"{module_name}.{name} missing from reporunner.nodes"
            assert getattr(api, name) is getattr(module, name)
    assert importlib.import_module("reporunner.nodes.catalog").catalog is not None
