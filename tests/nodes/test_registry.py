"""Registry: registration rules, lookups with helpful errors, built-ins and entry points."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, NoParams
from reporunner.nodes.errors import ConfigurationError, UnknownNodeType
from reporunner.nodes.registry import (
    DuplicateNodeType,
    InvalidNodeClass,
    NodeRegistry,
    default_registry,
    import_submodules,
    load_builtins,
    load_entry_points,
)


class _Echo(Node[NoParams]):
    type = "test.echo"
    version = 1
    category = Category.TRANSFORM
    display_name = "Echo"
    description = "Sends its input items out unchanged."

    async def run(self, ctx: NodeContext, params: NoParams, inputs: NodeInputs) -> NodeOutput:
        return NodeOutput.main(list(inputs.get("main", [])))


class _EchoV2(_Echo):
    version = 2


class _EchoAgain(_Echo):
    description = "A second class claiming test.echo v1."


def test_get_returns_latest_version_and_keeps_old_ones() -> None:
    registry = NodeRegistry()
    registry.register(_EchoV2)
    registry.register(_Echo)
    assert registry.get("test.echo") is _EchoV2
    assert registry.get("test.echo", 1) is _Echo
    assert registry.versions("test.echo") == [1, 2]
    assert registry.has("test.echo")
    assert registry.has("test.echo", 2)
    assert not registry.has("test.echo", 3)
    assert not registry.has("test.nope")
    assert registry.latest() == [_EchoV2]
    assert registry.all() == [_Echo, _EchoV2]


def test_duplicate_type_and_version_is_refused() -> None:
    registry = NodeRegistry()
    registry.register(_Echo)
    with pytest.raises(DuplicateNodeType, match=r"registered twice.*bump 'version'"):
        registry.register(_EchoAgain)


def test_unknown_type_suggests_the_closest_name() -> None:
    registry = NodeRegistry()
    registry.register(_Echo)
    with pytest.raises(UnknownNodeType, match=r"'test\.ecko' \(did you mean 'test\.echo'\?\)"):
        registry.get("test.ecko")


def test_unknown_version_lists_available_versions() -> None:
    registry = NodeRegistry()
    registry.register(_Echo)
    registry.register(_EchoV2)
    with pytest.raises(UnknownNodeType, match="no version 7; available versions: 1, 2"):
        registry.get("test.echo", 7)


def test_invalid_classes_are_refused_with_the_reason() -> None:
    class NoType(_Echo):
        type = "Not A Type"

    class NoDescription(_Echo):
        type = "test.nodesc"
        description = ""

    registry = NodeRegistry()
    with pytest.raises(InvalidNodeClass, match="lowercase dotted name"):
        registry.register(NoType)
    with pytest.raises(InvalidNodeClass, match="non-empty 'description'"):
        registry.register(NoDescription)
    with pytest.raises(InvalidNodeClass, match="not a subclass"):
        registry.register(dict)  # type: ignore[arg-type]


def test_builtins_are_discovered() -> None:
    registry = load_builtins(NodeRegistry())
    for type_ in ("trigger.manual", "logic.if", "logic.switch", "logic.noop"):
        assert registry.has(type_), type_
    assert all(not cls.__module__.rsplit(".", 1)[-1].startswith("_") for cls in registry.all())


def test_default_registry_is_cached_and_holds_builtins() -> None:
    assert default_registry() is default_registry()
    assert default_registry().has("trigger.manual")


_PLUGIN = """
from reporunner.nodes.base import Category, Node, NodeOutput, NoParams


class Hello(Node[NoParams]):
    type = "{prefix}.hello"
    category = Category.ACTION
    display_name = "Hello"
    description = "Says hello."

    async def run(self, ctx, params, inputs):
        return NodeOutput.main([{{"hello": "world"}}])


def make():
    class Bye(Hello):
        type = "{prefix}.bye"
    return [Bye]
"""

_PLUGIN_MODULE = """
from {module} import Hello


class HelloV2(Hello):
    version = 2


class Ciao(Hello):
    type = "{prefix}.ciao"
"""


@pytest.fixture
def plugin_dist(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A tiny distribution on sys.path: two modules plus a dist-info declaring entry points.

    importlib.metadata finds ``*.dist-info`` folders on sys.path, so nothing is installed
    into the shared virtualenv. Yields ``(type prefix, entry-point group)``.
    """
    prefix = "plug" + "".join(ch for ch in tmp_path.name if ch.isalnum()).lower()[-10:]
    module = f"rr_plugin_{prefix}"
    (tmp_path / f"{module}.py").write_text(_PLUGIN.format(prefix=prefix))
    (tmp_path / f"{module}_more.py").write_text(_PLUGIN_MODULE.format(prefix=prefix, module=module))
    dist = tmp_path / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    group = f"reporunner.nodes.test_{prefix}"
    (dist / "entry_points.txt").write_text(
        f"[{group}]\nhello = {module}:Hello\nmore = {module}_more\nfactory = {module}:make\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield prefix, group
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(module, None)
        sys.modules.pop(f"{module}_more", None)


def test_entry_points_register_class_module_and_factory(plugin_dist: tuple[str, str]) -> None:
    prefix, group = plugin_dist
    registry = load_entry_points(NodeRegistry(), group=group)
    assert registry.types() == [f"{prefix}.bye", f"{prefix}.ciao", f"{prefix}.hello"]
    # The module entry point registers only classes defined in it (not the imported Hello),
    # and the version bump keeps version 1 runnable.
    assert registry.versions(f"{prefix}.hello") == [1, 2]
    hello: Any = registry.get(f"{prefix}.hello", 1)
    assert hello.__name__ == "Hello"
    assert registry.get(f"{prefix}.hello").__name__ == "HelloV2"


def test_broken_entry_point_names_itself(tmp_path: Path) -> None:
    dist = tmp_path / "rr_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rr_broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[reporunner.nodes.test_broken]\nbad = rr_no_such_module:Thing\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ConfigurationError, match="'bad = rr_no_such_module:Thing'"):
            load_entry_points(NodeRegistry(), group="reporunner.nodes.test_broken")
    finally:
        sys.path.remove(str(tmp_path))


def test_import_submodules_imports_public_modules_in_name_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "disc_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("zeta", "alpha", "_private"):
        (package / f"{name}.py").write_text(f"NAME = {name!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert [m.NAME for m in import_submodules("disc_pkg")] == ["alpha", "zeta"]
    finally:
        for name in [n for n in sys.modules if n == "disc_pkg" or n.startswith("disc_pkg.")]:
            del sys.modules[name]


def test_import_submodules_names_the_module_that_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "broken_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bad.py").write_text("import does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(ConfigurationError, match=r"module 'broken_pkg\.bad' failed") as info:
            import_submodules("broken_pkg")
        assert isinstance(info.value.__cause__, ImportError)
    finally:
        for name in [n for n in sys.modules if n == "broken_pkg" or n.startswith("broken_pkg.")]:
            del sys.modules[name]
