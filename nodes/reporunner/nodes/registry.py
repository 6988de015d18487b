"""The node registry: which node types (and versions) exist.

Built-ins are discovered by importing every public module of ``reporunner.nodes.builtin``;
plugin packages declare the ``reporunner.nodes`` entry-point group. Every version of a type stays
registered so that workflows saved against an old version keep running after a bump.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterable
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from reporunner.nodes.base import Category, Node
from reporunner.nodes.errors import ConfigurationError, ConflictError, UnknownNodeType

__all__ = [
    "DuplicateNodeType",
    "InvalidNodeClass",
    "NodeRegistry",
    "default_registry",
    "import_submodules",
    "load_builtins",
    "load_entry_points",
    "node_classes_in",
]

ENTRY_POINT_GROUP = "reporunner.nodes"
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


class DuplicateNodeType(ConflictError):
    """Two node classes claim the same ``(type, version)``."""

    code = "duplicate_node_type"


class InvalidNodeClass(ConfigurationError):
    """A class offered to the registry does not satisfy the node contract."""

    code = "invalid_node_class"


def _describe(node_cls: type[Any]) -> str:
    return f"{node_cls.__module__}.{node_cls.__qualname__}"


def _check_node_class(node_cls: Any) -> None:
    """Refuse classes that would break the engine or the catalog later, with a precise reason."""
    if not (inspect.isclass(node_cls) and issubclass(node_cls, Node)):
        raise InvalidNodeClass(f"{node_cls!r} is not a subclass of reporunner.nodes.Node")
    name = _describe(node_cls)
    if inspect.isabstract(node_cls):
        raise InvalidNodeClass(f"{name} is abstract; implement 'async def run(...)'")
    type_ = getattr(node_cls, "type", None)
    if not isinstance(type_, str) or not _TYPE_RE.match(type_):
        raise InvalidNodeClass(
            f"{name}: 'type' must be a lowercase dotted name such as 'http.request', got {type_!r}"
        )
    version = getattr(node_cls, "version", None)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidNodeClass(f"{name}: 'version' must be an int >= 1, got {version!r}")
    if not isinstance(getattr(node_cls, "category", None), Category):
        raise InvalidNodeClass(f"{name}: 'category' must be a reporunner.nodes.Category member")
    for attr in ("display_name", "description"):
        value = getattr(node_cls, attr, None)
        if not isinstance(value, str) or not value.strip():
            raise InvalidNodeClass(f"{name}: set a non-empty '{attr}' (the catalog shows it)")
    params = getattr(node_cls, "Params", None)
    if not (inspect.isclass(params) and issubclass(params, BaseModel)):
        raise InvalidNodeClass(f"{name}: 'Params' must be a pydantic BaseModel subclass")


class NodeRegistry:
    """Node classes by ``(type, version)``.

    A registry is a plain object so that tests and the engine can build their own; most code
    uses the cached :func:`default_registry`.
    """

    def __init__(self) -> None:
        self._nodes: dict[tuple[str, int], type[Node[Any]]] = {}

    def register(self, node_cls: type[Node[Any]]) -> type[Node[Any]]:
        """Add a node class; returns it so the method also works as a class decorator.

        Raises:
            InvalidNodeClass: the class misses part of the node contract.
            DuplicateNodeType: another class already holds this ``(type, version)``.
        """
        _check_node_class(node_cls)
        key = (node_cls.type, node_cls.version)
        existing = self._nodes.get(key)
        if existing is not None:
            raise DuplicateNodeType(
                f"node type '{key[0]}' version {key[1]} is registered twice: by "
                f"{_describe(existing)} and by {_describe(node_cls)}; bump 'version' on the "
                "newer class or rename its 'type'"
            )
        self._nodes[key] = node_cls
        return node_cls

    def get(self, type_: str, version: int | None = None) -> type[Node[Any]]:
        """The class of ``type_`` at ``version`` (the latest version when None).

        Raises:
            UnknownNodeType: no such type (the message suggests the closest name) or no such
                version (the message lists the versions that exist).
        """
        versions = self.versions(type_)
        if not versions:
            raise UnknownNodeType(self._unknown_type_message(type_), type=type_)
        if version is None:
            return self._nodes[(type_, versions[-1])]
        found = self._nodes.get((type_, version))
        if found is None:
            listed = ", ".join(str(v) for v in versions)
            raise UnknownNodeType(
                f"node type '{type_}' has no version {version}; available versions: {listed}",
                type=type_,
                version=version,
            )
        return found

    def has(self, type_: str, version: int | None = None) -> bool:
        """Whether ``type_`` (at ``version``, or any version when None) is registered."""
        if version is None:
            return bool(self.versions(type_))
        return (type_, version) in self._nodes

    def versions(self, type_: str) -> list[int]:
        """Registered versions of ``type_``, ascending (empty when unknown)."""
        return sorted(v for (t, v) in self._nodes if t == type_)

    def types(self) -> list[str]:
        """Every registered type name, sorted."""
        return sorted({t for (t, _) in self._nodes})

    def latest(self) -> list[type[Node[Any]]]:
        """The latest version of each type, sorted by type."""
        return [self.get(t) for t in self.types()]

    def all(self) -> list[type[Node[Any]]]:
        """Every registered class, sorted by type then version."""
        return [self._nodes[key] for key in sorted(self._nodes)]

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, type_: object) -> bool:
        return isinstance(type_, str) and self.has(type_)

    def _unknown_type_message(self, type_: str) -> str:
        known = self.types()
        close = difflib.get_close_matches(type_, known, n=1, cutoff=0.6)
        if close:
            return f"unknown node type '{type_}' (did you mean '{close[0]}'?)"
        if not known:
            return f"unknown node type '{type_}' (the registry is empty; load the built-ins)"
        return f"unknown node type '{type_}'; see the node catalog (GET /nodes) for valid types"


def node_classes_in(module: ModuleType) -> list[type[Node[Any]]]:
    """Concrete Node subclasses *defined* in ``module`` that set ``type``.

    Classes imported into the module from elsewhere are skipped, so a plugin that subclasses a
    built-in does not register the built-in a second time.
    """
    found: list[type[Node[Any]]] = []
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if (
            issubclass(obj, Node)
            and obj.__module__ == module.__name__
            and isinstance(getattr(obj, "type", None), str)
            and not inspect.isabstract(obj)
        ):
            found.append(obj)
    return found


def import_submodules(package: str) -> list[ModuleType]:
    """Import every module of ``package`` whose name does not start with ``_``, sorted by name.

    The one discovery loop: built-in nodes here, and in the platform the API's route modules,
    the worker's job modules and the CLI's command modules (adding one means adding a module).

    Raises:
        ConfigurationError: a module failed to import (named, with the cause chained).
    """
    parent = importlib.import_module(package)
    modules: list[ModuleType] = []
    for info in sorted(pkgutil.iter_modules(parent.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module_name = f"{package}.{info.name}"
        try:
            modules.append(importlib.import_module(module_name))
        except Exception as err:
            raise ConfigurationError(f"module '{module_name}' failed to import: {err}") from err
    return modules


def load_builtins(registry: NodeRegistry) -> NodeRegistry:
    """Register every built-in node (modules of ``reporunner.nodes.builtin`` not starting
    with ``_``). Returns ``registry``.

    Raises:
        ConfigurationError: a built-in module failed to import.
    """
    for module in import_submodules("reporunner.nodes.builtin"):
        for node_cls in node_classes_in(module):
            registry.register(node_cls)
    return registry


def _classes_from_entry_point(name: str, obj: Any) -> Iterable[Any]:
    if inspect.isclass(obj):
        return [obj]
    if isinstance(obj, ModuleType):
        return node_classes_in(obj)
    if callable(obj):
        result = obj()
        if inspect.isclass(result):
            return [result]
        if isinstance(result, Iterable):
            return list(result)
        raise InvalidNodeClass(
            f"entry point '{name}': the callable returned {result!r}; return Node classes"
        )
    raise InvalidNodeClass(
        f"entry point '{name}' names {obj!r}; point it at a Node subclass, a module of nodes "
        "or a callable returning Node classes"
    )


def load_entry_points(registry: NodeRegistry, group: str = ENTRY_POINT_GROUP) -> NodeRegistry:
    """Register the nodes that installed distributions declare in entry-point ``group``.

    An entry point may name a Node subclass (``pkg.mod:MyNode``), a module whose Node
    subclasses are all registered (``pkg.nodes``), or a callable returning Node classes.
    Returns ``registry``.

    Raises:
        ConfigurationError: an entry point failed to load or named something else.
        DuplicateNodeType: a plugin re-used a ``(type, version)`` already registered.
    """
    for ep in sorted(entry_points(group=group), key=lambda e: (e.name, e.value)):
        try:
            obj = ep.load()
        except Exception as err:
            raise ConfigurationError(
                f"entry point '{ep.name} = {ep.value}' (group '{group}') failed to load: {err}"
            ) from err
        for node_cls in _classes_from_entry_point(ep.name, obj):
            registry.register(node_cls)
    return registry


@cache
def default_registry() -> NodeRegistry:
    """The process-wide registry: built-ins plus installed plugins, built once."""
    registry = NodeRegistry()
    load_builtins(registry)
    load_entry_points(registry)
    return registry
