"""The namespace layout works and does not shadow the standard library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_stdlib_platform_still_reachable_from_repo_root() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.system(), platform.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    system, path = out.stdout.split()
    assert system == "Linux"
    assert "site-packages" not in path
    assert not path.startswith(str(ROOT))


def test_four_parts_share_one_namespace() -> None:
    import reporunner
    import reporunner.agents
    import reporunner.knowledge
    import reporunner.nodes
    import reporunner.platform

    assert not hasattr(reporunner, "__file__") or reporunner.__file__ is None
    parts = {Path(p).parent.name for p in reporunner.__path__}
    assert parts == {"platform", "agents", "nodes", "knowledge"}
    for mod in (reporunner.agents, reporunner.knowledge, reporunner.nodes, reporunner.platform):
        assert mod.__file__ is not None
        assert Path(mod.__file__).is_relative_to(ROOT)
