"""Shared condition evaluation (If, Filter, Switch)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin._conditions import MISSING, Condition, evaluate, lookup, matches
from reporunner.nodes.errors import NodeError

ITEM = {"status": "Paid", "n": 5, "tags": ["a", "b"], "customer": {"email": None}, "empty": ""}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"value": "Paid", "operator": "equals", "compare": "Paid"}, True),
        ({"value": "Paid", "operator": "equals", "compare": "paid"}, False),
        ({"value": "Paid", "operator": "equals", "compare": "paid", "case_sensitive": False}, True),
        ({"value": "42", "operator": "equals", "compare": 42}, True),
        ({"value": 42.0, "operator": "equals", "compare": 42}, True),
        ({"value": "42", "operator": "equals", "compare": "42.0"}, False),
        ({"value": True, "operator": "equals", "compare": 1}, False),
        ({"value": "x", "operator": "not_equals", "compare": "y"}, True),
        ({"value": "hello world", "operator": "contains", "compare": "o w"}, True),
        ({"value": ["a", "b"], "operator": "contains", "compare": "b"}, True),
        ({"value": [1, 2], "operator": "contains", "compare": "2"}, True),
        ({"value": {"k": 1}, "operator": "contains", "compare": "k"}, True),
        ({"value": "abc", "operator": "not_contains", "compare": "z"}, True),
        ({"value": "INV-2024-7", "operator": "regex", "compare": r"^inv-\d{4}"}, False),
        (
            {
                "value": "INV-2024-7",
                "operator": "regex",
                "compare": r"^inv-\d{4}",
                "case_sensitive": False,
            },
            True,
        ),
        ({"value": 10, "operator": "gt", "compare": "9"}, True),
        ({"value": "10", "operator": "lt", "compare": "9"}, False),
        ({"value": "2024-01-02", "operator": "gte", "compare": "2024-01-01"}, True),
        ({"value": 3, "operator": "lte", "compare": 3}, True),
        ({"field": "customer.email", "operator": "exists"}, False),
        ({"field": "customer.email", "operator": "not_exists"}, True),
        ({"field": "customer.phone", "operator": "not_exists"}, True),
        ({"field": "tags.1", "operator": "exists"}, True),
        ({"field": "tags.7", "operator": "exists"}, False),
        ({"field": "n", "operator": "exists"}, True),
        ({"field": "empty", "operator": "is_empty"}, True),
        ({"field": "tags", "operator": "is_not_empty"}, True),
        ({"field": "nothing", "operator": "is_empty"}, True),
        ({"field": "status", "operator": "equals", "compare": "Paid"}, True),
    ],
)
def test_operators(condition: dict[str, Any], expected: bool) -> None:
    assert evaluate(Condition.model_validate(condition), ITEM) is expected


def test_combinators() -> None:
    yes = Condition(value=1, operator="equals", compare=1)
    no = Condition(value=1, operator="equals", compare=2)
    assert matches([yes, yes], "and", ITEM)
    assert not matches([yes, no], "and", ITEM)
    assert matches([no, yes], "or", ITEM)
    assert not matches([no, no], "or", ITEM)


def test_ordering_incomparable_values_says_what_to_give() -> None:
    with pytest.raises(NodeError, match="give two numbers"):
        evaluate(Condition(value={"a": 1}, operator="gt", compare=1), ITEM)


def test_invalid_regex_and_field_are_refused_at_validation() -> None:
    with pytest.raises(ValidationError, match="invalid regex"):
        Condition(value="x", operator="regex", compare="(")
    with pytest.raises(ValidationError, match="literal dotted path"):
        Condition(field="{{ item.x }}", operator="exists")


def test_lookup() -> None:
    assert lookup(ITEM, "customer.email") is None
    assert lookup(ITEM, "customer.phone") is MISSING
    assert lookup(ITEM, "tags.-1") == "b"
    assert lookup(ITEM, "n.x") is MISSING
