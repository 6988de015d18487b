"""Fixtures of the engine tests."""

from __future__ import annotations

import pytest
from engine_testkit import make_registry

from reporunner.nodes.registry import NodeRegistry


@pytest.fixture(scope="session")
def registry() -> NodeRegistry:
    """A registry of the small test nodes in ``engine_testkit``."""
    return make_registry()
