"""The wheel carries the built web app (``hatch_build.py``), so installing it needs no Node."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("hatchling")

from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, *, built: bool) -> Path:
    """A copy of the project's build configuration with stub packages (and a fake build)."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("pyproject.toml", "README.md", "hatch_build.py"):
        shutil.copy(ROOT / name, root / name)
    for part in ("platform", "agents", "nodes", "knowledge"):
        package = root / part / "reporunner" / part
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
    if built:
        (root / "web" / "dist" / "assets").mkdir(parents=True)
        (root / "web" / "dist" / "index.html").write_text("<!doctype html>")
        (root / "web" / "dist" / "assets" / "index-abc.js").write_text("1")
    return root


def _names(root: Path, out: Path) -> set[str]:
    wheel = next(WheelBuilder(str(root)).build(directory=str(out), versions=["standard"]))
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_includes_the_built_app(tmp_path: Path) -> None:
    names = _names(_project(tmp_path, built=True), tmp_path / "out")
    assert "reporunner/platform/web_dist/index.html" in names
    assert "reporunner/platform/web_dist/assets/index-abc.js" in names
    assert "reporunner/platform/__init__.py" in names


def test_wheel_without_a_build_is_api_only(tmp_path: Path) -> None:
    names = _names(_project(tmp_path, built=False), tmp_path / "out")
    assert not [n for n in names if "web_dist" in n]
    assert "reporunner/platform/__init__.py" in names
