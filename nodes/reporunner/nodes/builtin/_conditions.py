"""Condition evaluation shared by ``logic.if``, ``logic.filter`` and ``logic.switch``.

A condition compares a *left* value with ``compare``. The left value is either ``value`` (any
JSON, usually an expression the engine has already rendered against the current item, such as
``{{ item.price }}``) or ``field``, a dotted path the node reads from the current item itself.
Use ``field`` for ``exists``/``not_exists``: an expression naming a missing key is an error by
design, whereas a missing ``field`` is simply "does not exist".

Comparisons are forgiving in the way workflow data needs: a number and a numeric string compare
as numbers (``"42" gt 7``), and ``case_sensitive=false`` compares text case-insensitively.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import re2  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reporunner.nodes.base import Item
from reporunner.nodes.errors import NodeError

__all__ = ["MISSING", "Combinator", "Condition", "Operator", "evaluate", "lookup", "matches"]

Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "regex",
    "gt",
    "lt",
    "gte",
    "lte",
    "exists",
    "not_exists",
    "is_empty",
    "is_not_empty",
]
Combinator = Literal["and", "or"]

_UNARY = frozenset({"exists", "not_exists", "is_empty", "is_not_empty"})
_MAX_REGEX_INPUT = 100_000


class _Missing:
    """Marker for a ``field`` that is absent from the item."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Condition(BaseModel):
    """One test on the current item."""

    model_config = ConfigDict(extra="forbid")

    value: Any = Field(
        default=None,
        description="Left-hand value, usually an expression such as '{{ item.status }}' "
        "(rendered per item). Ignored when 'field' is set.",
    )
    field: str | None = Field(
        default=None,
        description="Dotted path read from the current item instead of 'value', e.g. "
        "'customer.email' or 'tags.0'; a missing path counts as not existing (use it with "
        "exists/not_exists).",
    )
    operator: Operator = Field(
        description="equals/not_equals (numbers and numeric strings compare as numbers), "
        "contains/not_contains (substring, list element or object key), regex (an RE2 "
        "search on the text: linear time, no backreferences or lookarounds), gt/lt/gte/lte "
        "(numbers, else text), exists/not_exists (not missing and not null), "
        "is_empty/is_not_empty (missing, null, '', [] or {})."
    )
    compare: Any = Field(
        default=None,
        description="Right-hand value (not used by exists/not_exists/is_empty/is_not_empty); "
        "the pattern for regex.",
    )
    case_sensitive: bool = Field(
        default=True, description="If false, text comparisons and regex ignore case."
    )

    @field_validator("field")
    @classmethod
    def _field_path(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "{{" in value):
            raise ValueError("field must be a literal dotted path such as 'customer.email'")
        return value

    @model_validator(mode="after")
    def _regex_compiles(self) -> Condition:
        if self.operator == "regex":
            if not isinstance(self.compare, str):
                raise ValueError("regex needs 'compare' to be a pattern string")
            try:
                _compile(self.compare, self.case_sensitive)
            except re2.error as err:
                detail = (
                    err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else err
                )
                raise ValueError(
                    f"invalid regex {self.compare!r}: {detail} (patterns run on RE2, in linear "
                    "time: no backreferences or lookarounds)"
                ) from err
        return self


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, case_sensitive: bool) -> Any:
    """The pattern on RE2: matching takes time linear in the text, whatever the pattern (no
    catastrophic backtracking such as ``(a+)+$`` on Python's ``re``)."""
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = case_sensitive
    return re2.compile(pattern, options)


def lookup(item: Any, path: str) -> Any:
    """Read a dotted path from ``item``; :data:`MISSING` when any step is absent."""
    current = item
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _text(value: Any, case_sensitive: bool) -> Any:
    if isinstance(value, str) and not case_sensitive:
        return value.casefold()
    return value


def _equals(left: Any, right: Any, case_sensitive: bool) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    a, b = _number(left), _number(right)
    if a is not None and b is not None and not (isinstance(left, str) and isinstance(right, str)):
        return a == b
    return bool(_text(left, case_sensitive) == _text(right, case_sensitive))


def _contains(left: Any, right: Any, case_sensitive: bool) -> bool:
    if isinstance(left, str):
        return str(_text(str(right), case_sensitive)) in str(_text(left, case_sensitive))
    if isinstance(left, Mapping):
        return right in left
    if isinstance(left, Sequence):
        return any(_equals(element, right, case_sensitive) for element in left)
    return False


def _order(left: Any, right: Any, operator: str, case_sensitive: bool) -> bool:
    a, b = _number(left), _number(right)
    pair: tuple[Any, Any]
    if a is not None and b is not None:
        pair = (a, b)
    elif isinstance(left, str) and isinstance(right, str):
        pair = (_text(left, case_sensitive), _text(right, case_sensitive))
    else:
        raise NodeError(
            f"cannot compare {left!r} {operator} {right!r}: give two numbers (or numeric "
            "strings) or two strings (ISO dates compare correctly as strings)"
        )
    x, y = pair
    return {"gt": x > y, "lt": x < y, "gte": x >= y, "lte": x <= y}[operator]


def _is_empty(value: Any) -> bool:
    return value is MISSING or value is None or value in ("", [], {})


def evaluate(condition: Condition, item: Item | None) -> bool:
    """Whether ``condition`` holds for ``item`` (the current item, for ``field`` lookups).

    Raises:
        NodeError: the values cannot be ordered (gt/lt on an object, say).
    """
    left = lookup(item or {}, condition.field) if condition.field else condition.value
    op, right, cs = condition.operator, condition.compare, condition.case_sensitive
    if op in _UNARY:
        return {
            "exists": left is not MISSING and left is not None,
            "not_exists": left is MISSING or left is None,
            "is_empty": _is_empty(left),
            "is_not_empty": not _is_empty(left),
        }[op]
    if left is MISSING:
        left = None
    if op == "equals":
        return _equals(left, right, cs)
    if op == "not_equals":
        return not _equals(left, right, cs)
    if op == "contains":
        return _contains(left, right, cs)
    if op == "not_contains":
        return not _contains(left, right, cs)
    if op == "regex":
        text = left if isinstance(left, str) else "" if left is None else str(left)
        return _compile(str(right), cs).search(text[:_MAX_REGEX_INPUT]) is not None
    return _order(left, right, op, cs)


def matches(conditions: Sequence[Condition], combinator: Combinator, item: Item | None) -> bool:
    """Combine conditions with ``and`` (all hold; true when empty) or ``or`` (any holds)."""
    results = (evaluate(c, item) for c in conditions)
    return all(results) if combinator == "and" else any(results)
