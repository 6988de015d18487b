"""Every name in the public surfaces of the agents part imports, and the lists stay sorted."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "reporunner.agents.agent",
    "reporunner.agents.errors",
    "reporunner.agents.llm",
    "reporunner.agents.memory",
    "reporunner.agents.nodes",
    "reporunner.agents.structured",
    "reporunner.agents.testing",
]


@pytest.mark.parametrize("name", MODULES)
def test_public_names_import_and_are_sorted(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n))
    for attr in exported:
        assert getattr(module, attr) is not None, f"{name}.{attr}"


def test_agents_import_nothing_of_the_platform() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "bad = sorted(m for m in sys.modules if m.startswith('reporunner.platform'))\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
