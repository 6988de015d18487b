"""Declared trigger input: the optional ``input_schema`` param of ``trigger.manual`` (the run's
input object) and ``trigger.webhook`` (the request body).

The schema is a JSON Schema (draft 2020-12 unless its ``$schema`` says otherwise). It is checked
when the workflow is validated (an invalid schema is a params problem at
``/nodes/<i>/params/input_schema``), the trigger node checks every item it starts with, and the
platform checks a run's input before queueing it (422). The MCP server offers the schema as the
tool's input schema. References are resolved inside the schema only; nothing is fetched.
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from jsonschema.validators import Draft202012Validator, validator_for  # type: ignore[import-untyped]

from reporunner.nodes.errors import Problem, ValidationFailed

__all__ = ["DESCRIPTION", "check_input", "check_schema", "input_problems"]

DESCRIPTION = (
    "Optional JSON Schema the input must match (like n8n's workflow input fields); a run "
    "whose input does not match is refused with the field named. MCP clients see it as the "
    "workflow tool's input schema."
)
_MAX_MESSAGE = 300
_MAX_PROBLEMS = 20


def _validator(schema: dict[str, Any]) -> Any:
    return validator_for(schema, default=Draft202012Validator)


def check_schema(schema: dict[str, Any] | None, *, object_only: bool) -> dict[str, Any] | None:
    """Pydantic field validator body: ``schema`` unchanged when it is a valid JSON Schema.

    Args:
        schema: The declared schema (None: nothing declared).
        object_only: The input is always a JSON object (Manual): the schema must say
            ``"type": "object"``.

    Raises:
        ValueError: the schema is not a valid JSON Schema (the message says where inside it).
    """
    if schema is None:
        return None
    try:
        _validator(schema).check_schema(schema)
    except SchemaError as err:
        inside = "/".join(str(p) for p in err.absolute_path)
        where = f" at '/{inside}'" if inside else ""
        raise ValueError(f"not a valid JSON Schema{where}: {_short(err.message)}") from None
    if object_only and schema.get("type") != "object":
        raise ValueError(
            'the input is a JSON object, so the schema must declare "type": "object" '
            "(describe the fields under 'properties')"
        )
    return schema


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _field(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def input_problems(schema: dict[str, Any], value: Any, prefix: str = "") -> list[Problem]:
    """Every way ``value`` fails ``schema`` (empty: it matches), as problems whose ``pointer``
    is ``prefix`` + the JSON pointer of the field and whose message names it."""
    problems: list[Problem] = []
    errors = sorted(_validator(schema)(schema).iter_errors(value), key=lambda e: e.json_path)
    for error in errors[:_MAX_PROBLEMS]:
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [n for n in error.validator_value if n not in error.instance]
            path += missing[:1]
        name = _field(path)
        if error.validator == "required" and name:
            message = f"field '{name}' is required"
        elif name:
            message = f"field '{name}': {_short(error.message)}"
        else:
            message = _short(error.message)
        pointer = prefix + "".join(f"/{p}" for p in path)
        problems.append(Problem(pointer, "input_mismatch", message))
    return problems


def check_input(schema: dict[str, Any] | None, value: Any, *, what: str, prefix: str = "") -> None:
    """Refuse ``value`` unless it matches ``schema`` (no schema: anything goes).

    Args:
        schema: The trigger's declared ``input_schema``.
        value: The run's input object (Manual) or request body (Webhook).
        what: What ``value`` is, for the message (``"the run's input"``, ``"the request body"``).
        prefix: Pointer of ``value`` in the caller's document (``/input``, ``/body``).

    Raises:
        ValidationFailed: with the first mismatch in the message and all of them as problems.
    """
    if schema is None:
        return
    problems = input_problems(schema, value, prefix)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ValidationFailed(
            f"{what} does not match the trigger's input_schema: {problems[0].message}{more}",
            problems,
        )
