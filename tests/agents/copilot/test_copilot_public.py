"""The copilot's public surface: sorted ``__all__`` and every name importable."""

from __future__ import annotations

import subprocess
import sys

import reporunner.agents.copilot as copilot


def test_all_is_sorted_and_importable() -> None:
    assert copilot.__all__ == sorted(copilot.__all__, key=lambda n: (not n.isupper(), n))
    for name in copilot.__all__:
        assert getattr(copilot, name) is not None, name


def test_the_core_does_not_import_the_platform() -> None:
    code = (
        "import sys, reporunner.agents.copilot; "
        "bad = sorted(m for m in sys.modules if m.startswith('reporunner.platform')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
