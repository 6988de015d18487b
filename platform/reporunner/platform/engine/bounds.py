"""Bounded decoding of workflow definitions: size, nesting depth, value count, no YAML aliases.

A definition arrives from any editor or viewer (``POST /workflows/validate`` is a viewer's
route), so its decoding must be cheap whatever it contains. YAML aliases are refused while the
document is *composed*, before any object is built: eight levels of nine-way aliases are 550
bytes that expand into 43 million values when dumped or hashed (the "billion laughs").
JSON and YAML are both held to :data:`MAX_DEFINITION_BYTES`, :data:`MAX_DEPTH` and
:data:`MAX_VALUES`, which no real workflow comes near (a 500-node workflow is ~300 KB and
depth ~12).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from reporunner.nodes.errors import Problem, ValidationFailed

__all__ = [
    "MAX_DEFINITION_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_VALUES",
    "check_shape",
    "decode_bounded",
]

MAX_DEFINITION_BYTES = 2 * 1024 * 1024
"""Largest definition text (bytes)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings/lists."""
MAX_VALUES = 200_000
"""Most values (scalars, mappings and lists together) one definition may hold."""
MAX_NODES = 1000
"""Most nodes one workflow may have."""


def _refuse(code: str, message: str, pointer: str = "") -> ValidationFailed:
    return ValidationFailed(message, [Problem(pointer, code, message)])


class _BoundedLoader(yaml.SafeLoader):
    """A safe loader that refuses aliases and counts nodes and depth while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._values = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _refuse(
                "yaml_alias",
                f"YAML aliases (*{event.anchor}) are not allowed in a workflow definition "
                f"(line {event.start_mark.line + 1}); write the value out in full",
            )
        self._values += 1
        if self._values > MAX_VALUES:
            raise _refuse(
                "too_many_values",
                f"the definition holds more than {MAX_VALUES} values; split the workflow",
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _refuse(
                    "too_deep",
                    f"the definition nests deeper than {MAX_DEPTH} levels; flatten it",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _size_check(text: str | bytes) -> None:
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_DEFINITION_BYTES:
        raise _refuse(
            "too_large",
            f"the definition is {size} bytes; at most {MAX_DEFINITION_BYTES} are accepted",
        )


def decode_bounded(data: str | bytes) -> Any:
    """Decode JSON or YAML text within the bounds.

    Raises:
        ValidationFailed: too large, too deep, too many values, a YAML alias, invalid UTF-8,
            or neither JSON nor YAML.
    """
    _size_check(data)
    try:
        text = data.decode() if isinstance(data, bytes) else data
    except UnicodeDecodeError as err:
        raise _refuse(
            "invalid_utf8",
            f"the definition is not valid UTF-8 (byte {err.start}); send UTF-8 text",
        ) from err
    try:
        value = json.loads(text)
    except RecursionError as err:
        raise _refuse(
            "too_deep", f"the definition nests deeper than {MAX_DEPTH} levels; flatten it"
        ) from err
    except ValueError:
        pass
    else:
        check_shape(value)
        return value
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        raise _refuse(
            "syntax_error",
            "the workflow definition is neither valid JSON nor valid YAML: "
            f"{err}; fix the syntax and send it again",
        ) from err
    finally:
        loader.dispose()


def check_shape(value: Any) -> None:
    """Hold a decoded definition to :data:`MAX_DEPTH`, :data:`MAX_VALUES` and
    :data:`MAX_NODES` (iteratively: a deep value cannot exhaust the stack here).

    Raises:
        ValidationFailed: naming the bound that was passed.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise _refuse(
                "too_many_values",
                f"the definition holds more than {MAX_VALUES} values; split the workflow",
            )
        if depth > MAX_DEPTH:
            raise _refuse(
                "too_deep", f"the definition nests deeper than {MAX_DEPTH} levels; flatten it"
            )
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
    nodes = value.get("nodes") if isinstance(value, Mapping) else None
    if isinstance(nodes, list) and len(nodes) > MAX_NODES:
        raise _refuse(
            "too_many_nodes",
            f"the workflow has {len(nodes)} nodes; at most {MAX_NODES} are allowed",
            "/nodes",
        )
