"""Private helpers shared by the data nodes (``data.*``): dotted paths into items, type names.

A *dotted path* addresses a value inside an item: ``user.address.city`` walks nested objects and a
segment made of digits indexes a list (``tags.0``). Keys that contain a dot cannot be addressed;
data nodes that take a path say so in their field descriptions. The helpers never mutate the
items they read; writers work on a copy the node made with :func:`copy_item`.
"""

from __future__ import annotations

import copy
import json
from typing import Annotated, Any, Final

from pydantic import AfterValidator

from reporunner.nodes.base import Item
from reporunner.nodes.errors import NodeError

__all__ = [
    "MAX_DEPTH",
    "MISSING",
    "DottedPath",
    "a_json_type",
    "check_path",
    "copy_item",
    "fail",
    "get_path",
    "json_type",
    "nesting_depth",
    "pop_path",
    "set_path",
    "to_json_text",
]


class _Missing:
    """Marker for "no value at this path" (distinct from a JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

MAX_DEPTH: Final = 100
"""Deepest nesting of objects/arrays a data node accepts from parsed text (JSON, XML).

Copying and serialising recurse, so an absurdly nested document would otherwise end in a bare
``RecursionError``; real data stays far below this.
"""


def check_path(path: str) -> str:
    """Validate a dotted path for a pydantic field (empty segments are the usual typo)."""
    if not path or any(not part for part in path.split(".")):
        raise ValueError(
            f"'{path}' is not a dotted path: use key names joined by dots, e.g. 'user.email' "
            "(no empty segments, no leading or trailing dot)"
        )
    return path


DottedPath = Annotated[str, AfterValidator(check_path)]
"""A ``str`` param that must be a well-formed dotted path."""


def fail(node_type: str, message: str) -> NodeError:
    """Build the :class:`NodeError` a data node raises for bad input (prefixed with its type)."""
    return NodeError(f"{node_type}: {message}")


def json_type(value: Any) -> str:
    """JSON name of a value's type, for error messages users can act on."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def a_json_type(value: Any) -> str:
    """JSON type name with its article: 'an object', 'a string', 'null'."""
    name = json_type(value)
    if name == "null":
        return name
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def copy_item(item: Item) -> Item:
    """Deep copy of an item, so that a node never changes the items another node sent."""
    return copy.deepcopy(item)


def _step(current: Any, part: str) -> Any:
    if isinstance(current, dict):
        return current.get(part, MISSING)
    if isinstance(current, list) and part.isdigit():
        index = int(part)
        return current[index] if index < len(current) else MISSING
    return MISSING


def get_path(item: Any, path: str) -> Any:
    """Value at ``path`` inside ``item``, or :data:`MISSING` when any segment is absent."""
    current = item
    for part in path.split("."):
        current = _step(current, part)
        if current is MISSING:
            return MISSING
    return current


def set_path(item: Item, path: str, value: Any) -> None:
    """Set ``path`` inside ``item`` in place, creating objects for absent segments.

    A segment that meets a scalar replaces it with an object: setting ``a.b`` on ``{"a": 1}``
    gives ``{"a": {"b": ...}}``, which is what "set this field" means to a user.
    """
    parts = path.split(".")
    current: Any = item
    for part in parts[:-1]:
        child = _step(current, part)
        if not isinstance(child, dict | list):
            child = {}
            _assign(current, part, child)
        current = child
    _assign(current, parts[-1], value)


def _assign(container: Any, part: str, value: Any) -> None:
    if isinstance(container, list) and part.isdigit() and int(part) < len(container):
        container[int(part)] = value
    elif isinstance(container, dict):
        container[part] = value
    else:  # a list indexed past its end or by a name: nothing sensible to write into
        raise ValueError(f"cannot set '{part}' inside an array of {len(container)} elements")


def pop_path(item: Item, path: str) -> Any:
    """Remove ``path`` from ``item`` in place; return the removed value or :data:`MISSING`."""
    parts = path.split(".")
    parent = get_path(item, ".".join(parts[:-1])) if len(parts) > 1 else item
    last = parts[-1]
    if isinstance(parent, dict):
        return parent.pop(last, MISSING)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    return MISSING


def to_json_text(value: Any) -> str:
    """Compact JSON text with stable key order (for keys, comparisons and CSV cells)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def nesting_depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest
