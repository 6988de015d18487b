"""The Jinja2 sandbox behind :mod:`reporunner.nodes.expressions`.

Jinja2's ``ImmutableSandboxedEnvironment`` already refuses dunder/underscore attributes,
unsafe callables and mutation of lists and dicts. This module adds what a multi-tenant workflow
engine needs on top of it:

* **bounded output and time**: string/list repetition, concatenation, padding and formatting
  are checked *before* they allocate, every result is measured, and every attribute lookup,
  call and operator checks a render deadline;
* **errors that name the path** (``nodes.fetch.output.body.titel: no key 'titel' (did you mean
  'title'?)``): lookups remember the dotted path of every container they return;
* JSON-first lookups: ``x.items`` reads the key ``items`` of a dict before its method.

State of the running render (deadline, paths) lives in a ``ContextVar`` so one environment
serves every concurrent render.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import missing

from reporunner.nodes.errors import ExpressionError

__all__ = ["RenderLimits", "RenderState", "Sandbox", "current_state", "rendering"]

_FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\d{5,}[^{}]*\}|%[-+ #0*]*\d{5,}|%[-+ #0*]*\d*\.\d{5,}")
_PAD_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})
_SIZED_FILTERS = {"center": 1, "indent": 1, "batch": 1, "slice": 1, "tojson": 1, "wordwrap": 2}


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Bounds every render must stay within.

    Attributes:
        max_output_chars: Largest string (or list length) any step may produce.
        max_seconds: Wall-clock budget of one :func:`render` call.
        max_int_bits: Largest integer ``**`` may produce (stops ``10 ** 10 ** 10``).
        max_width: Largest padding/width/count argument of formatting helpers.
    """

    max_output_chars: int = 1_000_000
    max_seconds: float = 2.0
    max_int_bits: int = 65_536
    max_width: int = 10_000


@dataclass(slots=True)
class RenderState:
    """Mutable bookkeeping of one render call."""

    limits: RenderLimits
    names: tuple[str, ...]
    deadline: float
    paths: dict[int, tuple[Any, str]] = field(default_factory=dict)
    last_null: str | None = None
    """Path of the latest lookup that returned null, to name it when it is read from."""


_STATE: ContextVar[RenderState | None] = ContextVar("reporunner_render_state", default=None)


def current_state() -> RenderState | None:
    """State of the render running in this context, if any."""
    return _STATE.get()


class rendering:
    """Context manager that installs a fresh :class:`RenderState` for one render call."""

    def __init__(self, context: dict[str, Any], limits: RenderLimits) -> None:
        self._state = RenderState(
            limits=limits,
            names=tuple(sorted(context)),
            deadline=time.monotonic() + limits.max_seconds,
            paths={id(v): (v, k) for k, v in context.items() if isinstance(v, dict | list)},
        )
        nulls = [k for k, v in context.items() if v is None]
        self._state.last_null = nulls[0] if len(nulls) == 1 else None
        self._token: Any = None

    def __enter__(self) -> RenderState:
        self._token = _STATE.set(self._state)
        return self._state

    def __exit__(self, *exc: object) -> None:
        _STATE.reset(self._token)


def _limits() -> RenderLimits:
    state = _STATE.get()
    return state.limits if state is not None else RenderLimits()


def tick() -> None:
    """Fail once the render deadline has passed."""
    state = _STATE.get()
    if state is not None and time.monotonic() > state.deadline:
        raise ExpressionError(
            f"expression took longer than {state.limits.max_seconds:g}s to render; "
            "simplify it or move the work into a node"
        )


def check_size(what: str, size: int) -> None:
    """Fail when ``size`` (characters or items) exceeds the output bound."""
    limit = _limits().max_output_chars
    if size > limit:
        raise ExpressionError(
            f"{what} would produce {size:,} characters/items, over the limit of {limit:,}"
        )


def _check_width(what: str, width: Any) -> None:
    limit = _limits().max_width
    if isinstance(width, int) and not isinstance(width, bool) and abs(width) > limit:
        raise ExpressionError(f"{what}: width/count {width:,} is over the limit of {limit:,}")
    if isinstance(width, str):
        check_size(what, len(width) * 100)


def _check_format_string(what: str, fmt: Any) -> None:
    if isinstance(fmt, str) and _FORMAT_WIDTH.search(fmt):
        raise ExpressionError(f"{what}: format widths/precisions over 9999 are not allowed")


def _seq_len(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


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
    state = _STATE.get()
    if state is None:
        return None
    found = state.paths.get(id(obj))
    return found[1] if found is not None and found[0] is obj else None


def _track(obj: Any, key: Any, value: Any) -> Any:
    state = _STATE.get()
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
    state = _STATE.get()
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
        state = _STATE.get()
        names = state.names if state is not None else ()
        return f"{name}: unknown name '{name}'{_suggest(name, names)}"


def _checked_concat(*parts: Any) -> str:
    out: list[str] = []
    total = 0
    for part in parts:
        text = str(part)
        total += len(text)
        check_size("string concatenation (~)", total)
        out.append(text)
    return "".join(out)


class _Generator(CodeGenerator):
    """Compiles ``a ~ b`` to a size-checked join instead of Jinja's unchecked one."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat(")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")")


def _binop_precheck(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            size = _seq_len(seq)
            if size is not None and isinstance(n, int):
                check_size("repetition (*)", size * max(n, 0))
    elif operator == "+":
        a, b = _seq_len(left), _seq_len(right)
        if a is not None and b is not None:
            check_size("concatenation (+)", a + b)
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if abs(left) > 1 and right > 0:
            bits = right * math.log2(abs(left))
            limit = _limits().max_int_bits
            if bits > limit:
                raise ExpressionError(f"power (**) would produce a {bits:,.0f}-bit number")
    elif operator == "%":
        _check_format_string("string formatting (%)", left)


def _guard_method(obj: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pre-check str/bytes methods that can allocate far more than their inputs."""
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str | bytes):
        return args
    name = getattr(obj, "__name__", "")
    if name in _PAD_METHODS and args:
        _check_width(f"{name}()", args[0])
    elif name == "expandtabs":
        check_size("expandtabs()", len(owner) * int(args[0] if args else 8))
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        hits = owner.count(old) if old else len(owner) + 1
        check_size("replace()", len(owner) + hits * len(new))
    elif name == "join" and args:
        items = list(args[0])
        total = sum(len(x) for x in items if isinstance(x, str | bytes))
        check_size("join()", total + len(owner) * max(len(items) - 1, 0))
        return (items, *args[1:])
    return args


def _checked_result(what: str, value: Any) -> Any:
    size = _seq_len(value)
    if size is not None:
        check_size(what, size)
    return value


def _guard_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a built-in filter: deadline, width checks before, size check after."""
    offset = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        args_list = list(args)
        if name in _SIZED_FILTERS:
            index = offset + _SIZED_FILTERS[name]
            if len(args_list) > index:
                _check_width(f"filter '{name}'", args_list[index])
            for value in kwargs.values():
                _check_width(f"filter '{name}'", value)
        if name == "format" and len(args_list) > offset:
            _check_format_string("filter 'format'", args_list[offset])
        if name in ("join", "replace") and len(args_list) > offset:
            args_list[offset] = _materialize_for(name, args_list, offset, kwargs)
        return _checked_result(f"filter '{name}'", original(*args_list, **kwargs))

    return guarded


def _materialize_for(name: str, args: list[Any], offset: int, kwargs: dict[str, Any]) -> Any:
    value = args[offset]
    if name == "replace":
        text = str(value)
        old = args[offset + 1] if len(args) > offset + 1 else kwargs.get("old", "")
        new = args[offset + 2] if len(args) > offset + 2 else kwargs.get("new", "")
        hits = text.count(str(old)) if old else len(text) + 1
        check_size("filter 'replace'", len(text) + hits * len(str(new)))
        return value
    items = list(value)
    sep = args[offset + 1] if len(args) > offset + 1 else kwargs.get("d", "")
    total = sum(len(x) for x in items if isinstance(x, str))
    check_size("filter 'join'", total + len(str(sep)) * max(len(items) - 1, 0))
    return items


class Sandbox(ImmutableSandboxedEnvironment):
    """The one expression environment: Jinja2's immutable sandbox plus reporunner's bounds."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _Generator

    def __init__(self, finalize: Callable[[Any], Any] | None = None) -> None:
        super().__init__(undefined=PathUndefined, autoescape=False, finalize=finalize)
        self.globals.clear()
        self.globals["range"] = safe_range
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}
        self.checked_concat = _checked_concat

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
        if wrapped is not None:
            _check_format_string("str.format()", value.__self__)
        return wrapped

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        tick()
        _binop_precheck(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        return _checked_result(f"operator '{operator}'", result)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        tick()
        args = _guard_method(__obj, args)
        result = super().call(__context, __obj, *args, **kwargs)
        return _checked_result("call", result)
