"""The engine's public surface: every name in ``__all__`` imports and the list is sorted."""

from __future__ import annotations

import reporunner.platform.engine as engine


def test_all_names_import_and_are_sorted() -> None:
    assert engine.__all__ == sorted(engine.__all__, key=lambda n: (not n.isupper(), n))
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
