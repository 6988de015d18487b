"""Search filters compiled to SQL (bound parameters only, never interpolated values).

A filter maps a field to a condition::

    {"mime_type": "application/pdf"}                  # equality
    {"lang": {"in": ["en", "de"]}}                     # membership
    {"price": {"gte": 10, "lt": 20}, "page": {"lte": 3}}  # range (any of gt, gte, lt, lte)

Fields in :data:`DOCUMENT_FIELDS` are columns of the chunk or its document; every other name is
a key of the chunk's ``metadata`` (which also holds the document's metadata, copied at ingestion
so that filters never need a join). JSON values compare as JSON: numbers numerically, strings
lexically.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reporunner.nodes.errors import Problem, ValidationFailed

__all__ = ["DOCUMENT_FIELDS", "CompiledFilter", "compile_filters"]

DOCUMENT_FIELDS: dict[str, tuple[str, str | None, bool]] = {
    # field: (SQL expression, cast of the bound value, needs the documents join)
    "document_id": ("c.document_id", "uuid", False),
    "document_name": ("d.name", None, True),
    "mime_type": ("d.mime_type", None, True),
    "source": ("d.source", None, True),
    "document_created_at": ("d.created_at", "timestamptz", True),
    "page": ("c.page", "integer", False),
    "ordinal": ("c.ordinal", "integer", False),
}
"""Filterable columns; any other field is a chunk metadata key."""

_RANGE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_OPERATORS = {"eq", "in", *_RANGE}


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """SQL conditions (joined with AND) and their bound parameters."""

    conditions: tuple[str, ...]
    params: dict[str, Any]
    needs_document: bool

    def sql(self) -> str:
        """``AND``-prefixed conditions to append to a WHERE clause (empty when no filter)."""
        return "".join(f" AND {c}" for c in self.conditions)


def _problem(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"filter on '{field}': {message}",
        problems=[Problem(f"/filters/{field}", "invalid_filter", message)],
    )


def _bind(field: str, value: Any, cast: str | None, is_json: bool) -> tuple[Any, str]:
    if is_json:
        return json.dumps(value), "CAST(:{} AS jsonb)"
    if isinstance(value, dict | list):
        raise _problem(field, "compare this column with a scalar value")
    if cast == "uuid":
        try:
            value = str(uuid.UUID(str(value)))
        except ValueError:
            raise _problem(field, f"'{value}' is not a UUID") from None
    elif cast == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise _problem(field, f"compare with an integer, not {value!r}")
    elif cast == "timestamptz":
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            raise _problem(field, f"'{value}' is not an ISO 8601 date-time") from None
    return value, f"CAST(:{{}} AS {cast})" if cast else ":{}"


def _conditions(field: str, spec: Any, prefix: str) -> tuple[list[str], dict[str, Any]]:
    if field in DOCUMENT_FIELDS:
        column, cast, _ = DOCUMENT_FIELDS[field]
        is_json = False
    else:
        column, cast, is_json = f"(c.metadata -> :{prefix}k)", None, True
    params: dict[str, Any] = {f"{prefix}k": field} if is_json else {}
    if not isinstance(spec, Mapping):
        spec = {"eq": spec}
    if not spec:
        raise _problem(field, "give at least one of eq, in, gt, gte, lt, lte")
    conditions = []
    for index, (op, value) in enumerate(spec.items()):
        name = f"{prefix}v{index}"
        if op not in _OPERATORS:
            raise _problem(field, f"unknown operator '{op}'; use one of {sorted(_OPERATORS)}")
        if op == "in":
            if not isinstance(value, list) or not value:
                raise _problem(field, "'in' takes a non-empty list of values")
            if is_json:
                params[name] = json.dumps(value)
                elements = f"SELECT jsonb_array_elements(CAST(:{name} AS jsonb))"
                conditions.append(f"{column} IN ({elements})")
                continue
            names = []
            for j, item in enumerate(value):
                bound, template = _bind(field, item, cast, False)
                params[f"{name}_{j}"] = bound
                names.append(template.format(f"{name}_{j}"))
            conditions.append(f"{column} IN ({', '.join(names)})")
            continue
        if value is None:
            raise _problem(field, f"'{op}' needs a value, not null")
        bound, template = _bind(field, value, cast, is_json)
        params[name] = bound
        sql_op = "=" if op == "eq" else _RANGE[op]
        conditions.append(f"{column} {sql_op} {template.format(name)}")
    return conditions, params


def compile_filters(filters: Mapping[str, Any] | None) -> CompiledFilter:
    """Compile search filters to SQL over chunks ``c`` (and documents ``d`` when needed).

    Raises:
        ValidationFailed: an unknown operator, a malformed ``in`` list, a null bound...; each
            problem's pointer is ``/filters/<field>``.
    """
    conditions: list[str] = []
    params: dict[str, Any] = {}
    needs_document = False
    for index, (field, spec) in enumerate((filters or {}).items()):
        if not isinstance(field, str) or not field:
            raise _problem(str(field), "field names are non-empty strings")
        field_conditions, field_params = _conditions(field, spec, f"f{index}_")
        conditions.extend(field_conditions)
        params.update(field_params)
        needs_document = needs_document or DOCUMENT_FIELDS.get(field, ("", None, False))[2]
    return CompiledFilter(tuple(conditions), params, needs_document)
