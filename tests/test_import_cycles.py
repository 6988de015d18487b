"""scripts/import_cycles.py: it finds every kind of import circle, and reporunner has none."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "import_cycles", ROOT / "scripts/import_cycles.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package(root: Path, name: str, files: dict[str, str]) -> None:
    for relative, text in {"__init__.py": "", **files}.items():
        path = root / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # a late import inside a function still closes the circle
            {"a.py": "import cyc_pkg.b\n", "b.py": "def f():\n    from cyc_pkg import a\n"},
            {"cyc_pkg.a", "cyc_pkg.b"},
        ),
        (  # so does one that only type checkers see
            {
                "a.py": "from cyc_pkg.b import B\n",
                "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from cyc_pkg.a import A\nB = 1\n",
            },
            {"cyc_pkg.a", "cyc_pkg.b"},
        ),
        (  # importing sub.x runs sub/__init__, which imports back the importer
            {
                "sub/__init__.py": "from cyc_pkg.a import A\n",
                "sub/x.py": "X = 1\n",
                "a.py": "from cyc_pkg.sub.x import X\nA = X\n",
            },
            {"cyc_pkg.a", "cyc_pkg.sub"},
        ),
    ],
)
def test_every_kind_of_circle_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], expected: set[str]
) -> None:
    _package(tmp_path, "cyc_pkg", files)
    monkeypatch.syspath_prepend(str(tmp_path))
    [cycle] = _script().find_cycles(["cyc_pkg"])
    assert cycle[0] == cycle[-1]
    assert set(cycle) == expected


def test_a_package_importing_its_own_modules_is_not_a_circle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(
        tmp_path,
        "flat_pkg",
        {
            "__init__.py": "from flat_pkg.a import A\n",
            "a.py": "from flat_pkg.b import B\nA = B\n",
            "b.py": "B = 1\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _script().find_cycles(["flat_pkg"]) == []


def test_reporunner_has_no_import_cycles(capsys: pytest.CaptureFixture[str]) -> None:
    script = _script()
    assert script.main([]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out.strip() == "no import cycles"
