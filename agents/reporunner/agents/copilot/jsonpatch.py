"""JSON Patch (RFC 6902) over plain JSON values: apply a patch, and compute one between two docs.

The copilot's edits travel as JSON Patch so that a client can show exactly what changes and
apply it to the version it was written against. Applying never mutates its input: the result
is a new document, and a failing operation raises :class:`PatchFailed` naming the operation and
the pointer, so the message can go back to the model as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from reporunner.agents.copilot.errors import PatchFailed
from reporunner.nodes.errors import Problem

__all__ = ["apply_patch", "escape", "make_patch", "parse_pointer"]

_OPS = ("add", "remove", "replace", "move", "copy", "test")


def escape(token: str) -> str:
    """One reference token of a JSON pointer (``~`` and ``/`` escaped)."""
    return token.replace("~", "~0").replace("/", "~1")


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of a JSON pointer (RFC 6901); ``""`` is the whole document.

    Raises:
        PatchFailed: the pointer is not empty and does not start with ``/``.
    """
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchFailed(f"JSON pointer {pointer!r} must be empty or start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container: list[Any], token: str, pointer: str, *, append: bool) -> int:
    if append and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchFailed(f"{pointer}: '{token}' is not an array index")
    index = int(token)
    limit = len(container) if append else len(container) - 1
    if index > limit:
        raise PatchFailed(f"{pointer}: index {index} is out of range (length {len(container)})")
    return index


def _parent(doc: Any, tokens: list[str], pointer: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchFailed(f"{pointer}: '{token}' does not exist")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, pointer, append=False)]
        else:
            raise PatchFailed(f"{pointer}: cannot descend into a {type(node).__name__}")
    return node


def _get(doc: Any, pointer: str) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchFailed(f"{pointer}: '{last}' does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, pointer, append=False)]
    raise PatchFailed(f"{pointer}: cannot descend into a {type(parent).__name__}")


def _add(doc: Any, pointer: str, value: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent = _parent(doc, tokens, pointer)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], pointer, append=True), value)
    else:
        raise PatchFailed(f"{pointer}: cannot add into a {type(parent).__name__}")
    return doc


def _remove(doc: Any, pointer: str) -> tuple[Any, Any]:
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchFailed("cannot remove the whole document; use 'replace' with path ''")
    parent = _parent(doc, tokens, pointer)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise PatchFailed(f"{pointer}: '{tokens[-1]}' does not exist")
        return doc, parent.pop(tokens[-1])
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, tokens[-1], pointer, append=False))
    raise PatchFailed(f"{pointer}: cannot remove from a {type(parent).__name__}")


def _field(op: Mapping[str, Any], name: str, position: int) -> Any:
    if name not in op:
        raise PatchFailed(f"patch operation {position} ({op.get('op')}) needs '{name}'")
    return op[name]


def _apply_one(doc: Any, op: Mapping[str, Any], position: int) -> Any:
    kind = op.get("op")
    if kind not in _OPS:
        raise PatchFailed(
            f"patch operation {position}: 'op' must be one of {', '.join(_OPS)}, got {kind!r}"
        )
    path = _field(op, "path", position)
    if not isinstance(path, str):
        raise PatchFailed(f"patch operation {position}: 'path' must be a string")
    if kind == "add":
        return _add(doc, path, copy.deepcopy(_field(op, "value", position)))
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind == "replace":
        _get(doc, path)
        tokens = parse_pointer(path)
        if not tokens:
            return copy.deepcopy(_field(op, "value", position))
        doc, _ = _remove(doc, path)
        return _add(doc, path, copy.deepcopy(_field(op, "value", position)))
    source = _field(op, "from", position) if kind in ("move", "copy") else None
    if kind == "move":
        assert isinstance(source, str)
        if path.startswith(source + "/"):
            raise PatchFailed(f"patch operation {position}: cannot move {source} into itself")
        doc, value = _remove(doc, source)
        return _add(doc, path, value)
    if kind == "copy":
        assert isinstance(source, str)
        return _add(doc, path, copy.deepcopy(_get(doc, source)))
    expected = _field(op, "value", position)
    if _get(doc, path) != expected:
        raise PatchFailed(f"patch operation {position}: test failed at {path or '(root)'}")
    return doc


def apply_patch(doc: Any, patch: Sequence[Mapping[str, Any]]) -> Any:
    """Apply ``patch`` to a copy of ``doc`` and return the copy (``doc`` is never changed).

    Raises:
        PatchFailed: an operation is malformed or does not apply; nothing is half-applied.
    """
    result = copy.deepcopy(doc)
    for position, op in enumerate(patch):
        if not isinstance(op, Mapping):
            raise PatchFailed(f"patch operation {position} must be an object")
        try:
            result = _apply_one(result, op, position)
        except PatchFailed as err:
            where = f"patch operation {position} ({op.get('op')} {op.get('path')})"
            detail = (
                err.detail
                if err.detail.startswith("patch operation")
                else (f"{where}: {err.detail}")
            )
            raise PatchFailed(detail, [Problem(f"/{position}", "invalid_patch", detail)]) from None
    return result


def make_patch(source: Any, target: Any, path: str = "") -> list[dict[str, Any]]:
    """A JSON Patch turning ``source`` into ``target``.

    Objects are compared key by key; arrays of equal length element by element; arrays that
    grow or shrink at the end get ``add``/``remove`` of the tail; anything else is replaced.
    """
    if source == target:
        return []
    if isinstance(source, dict) and isinstance(target, dict):
        ops: list[dict[str, Any]] = []
        for key in source:
            if key not in target:
                ops.append({"op": "remove", "path": f"{path}/{escape(key)}"})
        for key, value in target.items():
            if key not in source:
                ops.append({"op": "add", "path": f"{path}/{escape(key)}", "value": value})
            else:
                ops.extend(make_patch(source[key], value, f"{path}/{escape(key)}"))
        return ops
    if isinstance(source, list) and isinstance(target, list):
        common = min(len(source), len(target))
        if source[:common] != target[:common] and len(source) != len(target):
            return [{"op": "replace", "path": path, "value": target}]
        ops = []
        for i in range(common):
            ops.extend(make_patch(source[i], target[i], f"{path}/{i}"))
        for i in range(len(source) - 1, common - 1, -1):
            ops.append({"op": "remove", "path": f"{path}/{i}"})
        for i in range(common, len(target)):
            ops.append({"op": "add", "path": f"{path}/-", "value": target[i]})
        return ops
    return [{"op": "replace", "path": path, "value": target}]
