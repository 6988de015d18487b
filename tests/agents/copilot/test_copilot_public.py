"""The copilot's public surface: sorted ``__all__`` and every name importable."""

from __future__ import annotations

import reporunner.agents.copilot as copilot


def test_all_is_sorted_and_importable() -> None:
    assert copilot.__all__ == sorted(copilot.__all__, key=lambda n: (not n.isupper(), n))
    for name in copilot.__all__:
        assert getattr(copilot, name) is not None, name
