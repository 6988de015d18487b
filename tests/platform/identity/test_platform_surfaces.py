"""The public surfaces of identity, sign-in, SSO, webhooks and schedules: sorted, and every name
importable."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = (
    "reporunner.platform.identity",
    "reporunner.platform.signin",
    "reporunner.platform.sso",
    "reporunner.platform.webhooks",
    "reporunner.platform.schedules",
)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    for attr in exported:
        assert getattr(module, attr) is not None, f"{name}.{attr}"
