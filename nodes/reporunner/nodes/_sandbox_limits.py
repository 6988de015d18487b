"""Size and time bounds of the expression sandbox (see :mod:`._sandbox`).

Every operation that can allocate far more than its inputs (repetition, concatenation,
padding, formatting, stringifying a structure that aliases itself) is checked *before* it
allocates, and every lookup, call, operator and filter checks the render deadline. The state
of the running render lives in a ``ContextVar`` so one environment serves concurrent renders.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from reporunner.nodes.errors import ExpressionError

__all__ = [
    "RenderLimits",
    "RenderScope",
    "RenderState",
    "binop_precheck",
    "check_format_string",
    "check_size",
    "checked_concat",
    "checked_result",
    "count_result_item",
    "current_state",
    "guard_filter",
    "guard_format_args",
    "guard_method",
    "measure",
    "tick",
]

_FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\d{5,}[^{}]*\}|%[-+ #0*]*\d{5,}|%[-+ #0*]*\d*\.\d{5,}")
_PAD_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})
_SIZED_FILTERS = frozenset({"center", "indent", "batch", "slice", "tojson", "wordwrap"})


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Bounds every render must stay within.

    Attributes:
        max_output_chars: Largest string (or list length) any step may produce.
        max_seconds: Wall-clock budget of one :func:`render` call.
        max_int_bits: Largest integer ``**`` may produce (stops ``10 ** 10 ** 10``).
        max_width: Largest padding/width/count argument of formatting helpers.
        max_result_items: Most values (containers and scalars) a native result may hold.
        max_sort_items: Most items one sorting filter (``sort``, ``dictsort``, ``groupby``)
            may order: one sort is a single uninterruptible call, so its size, not the
            deadline, bounds its time (1 M items overran the 2 s budget).
    """

    max_output_chars: int = 1_000_000
    max_seconds: float = 2.0
    max_int_bits: int = 65_536
    max_width: int = 10_000
    max_result_items: int = 1_000_000
    max_sort_items: int = 100_000


_SORTING_FILTERS = frozenset({"sort", "dictsort", "groupby"})


def _bounded_for_sort(name: str, value: Any) -> Any:
    """``value`` checked (or, for an iterator, materialised) within ``max_sort_items``."""
    limit = _limits().max_sort_items
    if hasattr(value, "__len__"):
        count = f"{len(value):,}" if len(value) > limit else ""
    else:
        value = list(itertools.islice(iter(value), limit + 1))
        count = f"more than {limit:,}" if len(value) > limit else ""
    if count:
        raise ExpressionError(
            f"filter '{name}' was given {count} items to sort, over the limit of {limit:,} "
            "in an expression; sort large lists with the data.sort node, or filter them first"
        )
    return value


@dataclass(slots=True)
class RenderState:
    """Mutable bookkeeping of one render call."""

    limits: RenderLimits
    names: tuple[str, ...]
    deadline: float
    paths: dict[int, tuple[Any, str]] = field(default_factory=dict)
    result_items: int = 0
    last_null: str | None = None
    """Path of the latest lookup that returned null, to name it when it is read from."""


_STATE: ContextVar[RenderState | None] = ContextVar("reporunner_render_state", default=None)


def current_state() -> RenderState | None:
    """State of the render running in this context, if any."""
    return _STATE.get()


class RenderScope:
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


def count_result_item() -> None:
    """Count one value copied into a native result; fail past ``max_result_items``."""
    state = _STATE.get()
    if state is None:
        return
    state.result_items += 1
    if state.result_items > state.limits.max_result_items:
        raise ExpressionError(
            f"the expression result holds more than {state.limits.max_result_items:,} values; "
            "select the part you need"
        )
    if state.result_items % 1024 == 0:
        tick()


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


def check_format_string(what: str, fmt: Any) -> None:
    if isinstance(fmt, str) and _FORMAT_WIDTH.search(fmt):
        raise ExpressionError(f"{what}: format widths/precisions over 9999 are not allowed")


def _seq_len(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


# Filters that only walk or reorder a structure; every other filter may stringify its input,
# so its input is measured first (a list aliasing itself is tiny in memory but huge as text).
_STRUCTURAL_FILTERS = frozenset(
    [
        "abs",
        "attr",
        "batch",
        "bool",
        "count",
        "d",
        "default",
        "dictsort",
        "first",
        "float",
        "groupby",
        "int",
        "items",
        "last",
        "length",
        "list",
        "map",
        "max",
        "min",
        "random",
        "reject",
        "rejectattr",
        "reverse",
        "round",
        "select",
        "selectattr",
        "slice",
        "sort",
        "sum",
        "unique",
    ]
)


def measure(value: Any, what: str) -> None:
    """Fail if ``value`` would stringify to more than the output bound.

    Walks containers (shared ones are counted each time they appear, as ``str`` would) and
    stops as soon as the bound is passed, so the cost is bounded too.
    """
    limit = _limits().max_output_chars
    total = 0
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str | bytes):
            total += len(current) + 2
        elif isinstance(current, dict):
            total += 2 + 2 * len(current)
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list | tuple | set | frozenset):
            total += 2 + 2 * len(current)
            stack.extend(current)
        else:
            total += 8
        if total > limit:
            raise ExpressionError(
                f"{what} would produce more than {limit:,} characters, over the limit"
            )


def checked_concat(*parts: Any) -> str:
    out: list[str] = []
    total = 0
    for part in parts:
        if not isinstance(part, str):
            measure(part, "string concatenation (~)")
        text = str(part)
        total += len(text)
        check_size("string concatenation (~)", total)
        out.append(text)
    return "".join(out)


def binop_precheck(operator: str, left: Any, right: Any) -> None:
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
    elif operator == "%" and isinstance(left, str):
        check_format_string("string formatting (%)", left)
        measure(right, "string formatting (%)")


def guard_method(obj: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
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


def checked_result(what: str, value: Any) -> Any:
    size = _seq_len(value)
    if size is not None:
        check_size(what, size)
    return value


def _check_indent(args: list[Any], kwargs: dict[str, Any]) -> None:
    width = args[1] if len(args) > 1 else kwargs.get("width", 4)
    per_line = len(width) if isinstance(width, str) else int(width)
    lines = str(args[0]).count("\n") + 1
    check_size("filter 'indent'", len(str(args[0])) + lines * per_line)


def guard_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a built-in filter: deadline, width checks before, size check after."""
    offset = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        args_list = list(args)
        if name in _SIZED_FILTERS:
            for value in [*args_list[offset + 1 :], *kwargs.values()]:
                _check_width(f"filter '{name}'", value)
        if name == "indent" and len(args_list) > offset:
            _check_indent(args_list[offset:], kwargs)
        if name not in _STRUCTURAL_FILTERS:
            measure([args_list[offset:], kwargs], f"filter '{name}'")
        if name == "format" and len(args_list) > offset:
            check_format_string("filter 'format'", args_list[offset])
        if name in _SORTING_FILTERS and len(args_list) > offset:
            args_list[offset] = _bounded_for_sort(name, args_list[offset])
        if name in ("join", "replace") and len(args_list) > offset:
            args_list[offset] = _materialize_for(name, args_list, offset, kwargs)
        return checked_result(f"filter '{name}'", original(*args_list, **kwargs))

    return guarded


def guard_format_args(wrapped: Callable[..., str]) -> Callable[..., str]:
    """Measure the arguments of a sandboxed ``str.format`` before it stringifies them."""

    @functools.wraps(wrapped)
    def guarded(*args: Any, **kwargs: Any) -> str:
        tick()
        measure([args, kwargs], "str.format()")
        return str(checked_result("str.format()", wrapped(*args, **kwargs)))

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
