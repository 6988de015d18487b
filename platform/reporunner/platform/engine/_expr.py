"""Thin seam over ``reporunner.nodes.expressions`` (render, check, referenced_nodes).

The engine calls expressions only through here, so the import lives in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import reporunner.nodes.expressions as _expressions

__all__ = ["check", "has_expression", "referenced_nodes", "render"]


def has_expression(value: Any) -> bool:
    """True when any string inside ``value`` (nested dicts/lists) holds ``{{``."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, Mapping):
        return any(has_expression(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_expression(v) for v in value)
    return False


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every ``{{ ... }}`` in ``value`` against ``context``."""
    return _expressions.render(value, context)


def check(value: Any) -> list[tuple[str, str]]:
    """Syntax problems as ``(pointer relative to value, message)`` pairs."""
    return [(p.pointer, p.message) for p in _expressions.check(value)]


def referenced_nodes(value: Any) -> set[str]:
    """Node ids referenced as ``nodes.<id>`` inside ``value``."""
    return set(_expressions.referenced_nodes(value))
