"""The Jinja2 sandbox behind :mod:`reporunner.nodes.expressions`.

Jinja2's ``ImmutableSandboxedEnvironment`` already refuses dunder/underscore attributes,
unsafe callables and mutation of lists and dicts. On top of it this module adds:

* **bounds** on output size and render time (:mod:`._sandbox_limits`);
* **errors that name the path** (``nodes.fetch.output.body.titel: no key 'titel' (did you mean
  'title'?)``): lookups remember the dotted path of every container they return;
* JSON-first lookups: ``x.items`` reads the key ``items`` of a dict before its method.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import missing

from reporunner.nodes._sandbox_limits import (
    binop_precheck,
    check_format_string,
    checked_concat,
    checked_result,
    current_state,
    guard_filter,
    guard_format_args,
    guard_method,
    tick,
)

__all__ = ["PathUndefined", "Sandbox", "missing_message"]


def _type_name(value: Any) -> str:
    names = {str: "string", bool: "boolean", int: "number", float: "number", list: "list"}
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return names.get(type(value), type(value).__name__)


def _join_path(parent: str, key: Any) -> str:
    return f"{parent}[{key}]" if isinstance(key, int) else f"{parent}.{key}"


def _path_of(obj: Any) -> str | None:
    state = current_state()
    if state is None:
        return None
    found = state.paths.get(id(obj))
    return found[1] if found is not None and found[0] is obj else None


def _track(obj: Any, key: Any, value: Any) -> Any:
    state = current_state()
    if state is not None and (value is None or isinstance(value, dict | list)):
        parent = _path_of(obj)
        path = _join_path(parent, key) if parent is not None else None
        if value is None:
            state.last_null = path
        elif path is not None:
            state.paths[id(value)] = (value, path)
    return value


def _suggest(key: Any, candidates: Iterable[Any]) -> str:
    names = [str(c) for c in candidates]
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if not names:
        return " (it is empty)"
    if len(names) <= 12:
        return " (available: " + ", ".join(sorted(names)) + ")"
    return ""


def missing_message(obj: Any, key: Any) -> str:
    """Explain why ``obj[key]`` / ``obj.key`` found nothing, naming the full path."""
    state = current_state()
    null_path = state.last_null if state is not None and obj is None else None
    parent = _path_of(obj) or null_path or "value"
    full = _join_path(parent, key)
    if obj is None:
        return f"{full}: '{parent}' is null, so it has no '{key}'"
    if isinstance(obj, dict):
        if parent == "nodes":
            what = f"no node '{key}' has run before this one"
        else:
            what = f"no key '{key}'"
        return f"{full}: {what}{_suggest(key, obj.keys())}"
    if isinstance(obj, list | tuple):
        if isinstance(key, int):
            return f"{full}: index {key} is out of range (the list has {len(obj)} items)"
        return f"{full}: '{parent}' is a list, not an object; index it like {parent}[0]"
    return f"{full}: a {_type_name(obj)} has no attribute '{key}'"


class PathUndefined(StrictUndefined):
    """StrictUndefined whose message names the path and suggests close names."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        if self._undefined_obj is not missing:
            return missing_message(self._undefined_obj, self._undefined_name)
        name = self._undefined_name
        state = current_state()
        names = state.names if state is not None else ()
        return f"{name}: unknown name '{name}'{_suggest(name, names)}"


class _Generator(CodeGenerator):
    """Compiles ``a ~ b`` to a size-checked join instead of Jinja's unchecked one."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat(")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")")


class Sandbox(ImmutableSandboxedEnvironment):
    """The one expression environment: Jinja2's immutable sandbox plus reporunner's bounds."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _Generator

    def __init__(self, finalize: Callable[[Any], Any] | None = None) -> None:
        super().__init__(undefined=PathUndefined, autoescape=False, finalize=finalize)
        self.globals.clear()
        self.globals["range"] = safe_range
        self.filters = {name: guard_filter(name, f) for name, f in self.filters.items()}
        self.checked_concat = checked_concat

    def getattr(self, obj: Any, attribute: str) -> Any:
        tick()
        if isinstance(obj, dict) and attribute in obj:
            return _track(obj, attribute, obj[attribute])
        return self._after(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        tick()
        if isinstance(obj, dict) and not isinstance(argument, Undefined) and argument in obj:
            return _track(obj, argument, obj[argument])
        return self._after(obj, argument, super().getitem(obj, argument))

    def _after(self, obj: Any, key: Any, value: Any) -> Any:
        if isinstance(value, Undefined):
            if value._undefined_exception is SecurityError:
                return value
            return self.undefined(hint=missing_message(obj, key), obj=obj, name=key)
        return _track(obj, key, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        check_format_string("str.format()", value.__self__)
        return guard_format_args(wrapped)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        tick()
        binop_precheck(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        return checked_result(f"operator '{operator}'", result)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        tick()
        args = guard_method(__obj, args)
        result = super().call(__context, __obj, *args, **kwargs)
        return checked_result("call", result)
