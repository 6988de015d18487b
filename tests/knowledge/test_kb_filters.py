"""Search filters compile to SQL with bound values, and malformed ones say what to fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reporunner.knowledge.filters import compile_filters
from reporunner.nodes.errors import ValidationFailed


def test_metadata_and_column_conditions_use_bound_parameters() -> None:
    compiled = compile_filters(
        {
            "lang": "en",
            "price": {"gte": 10, "lt": 20},
            "tag": {"in": ["a", "b"]},
            "page": {"lte": 3},
            "mime_type": {"in": ["text/csv"]},
        }
    )
    sql = compiled.sql()
    assert "'en'" not in sql  # values are never inlined
    assert compiled.needs_document  # mime_type is a documents column
    assert json.loads(compiled.params["f0_v0"]) == "en"
    assert compiled.params["f0_k"] == "lang"
    assert "c.page <= CAST(:f3_v0 AS integer)" in sql
    assert "d.mime_type IN (:f4_v0_0)" in sql


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"price": {"between": [1, 2]}}, "unknown operator 'between'"),
        ({"tag": {"in": []}}, "non-empty list"),
        ({"page": "three"}, "integer"),
        ({"document_id": "not-a-uuid"}, "not a UUID"),
        ({"document_created_at": {"gte": "yesterday"}}, "ISO 8601"),
        ({"price": {"gt": None}}, "needs a value"),
        ({"lang": {}}, "at least one"),
    ],
)
def test_malformed_filters_name_the_field(filters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as info:
        compile_filters(filters)
    field = next(iter(filters))
    assert info.value.problems[0]["pointer"] == f"/filters/{field}"
