"""Structured output: find the JSON in an answer, validate it, and phrase a repair request.

Models wrap JSON in code fences or add a sentence around it; :func:`extract_json` takes the
first JSON value it can find. :func:`schema_errors` lists every validation problem with its
JSON pointer, which :func:`repair_message` hands back to the model for one repair round.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

from reporunner.nodes.errors import Problem, ValidationFailed

__all__ = [
    "check_schema",
    "extract_json",
    "parse_structured",
    "repair_message",
    "schema_errors",
    "schema_instruction",
]

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_NO_JSON = object()


def check_schema(schema: dict[str, Any], where: str = "output_schema") -> None:
    """Refuse a JSON Schema that is itself invalid, before any model is called.

    Raises:
        ValidationFailed: with the schema problem and where it is.
    """
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        raise ValidationFailed(
            f"{where} is not a valid JSON Schema: {err.message}",
            [
                Problem(
                    f"/{where}{pointer if pointer != '/' else ''}", "invalid_schema", err.message
                )
            ],
        ) from err


def extract_json(text: str | None) -> Any:
    """The JSON value in ``text`` (whole text, a fenced block, or the first ``{...}``/``[...]``).

    Raises:
        ValueError: no JSON value found (the message can go back to the model).
    """
    if text is None or not text.strip():
        raise ValueError("the answer is empty; answer with a JSON value")
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    for index, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(text, index)
            except json.JSONDecodeError:
                continue
            return value
    raise ValueError("the answer contains no valid JSON; answer with the JSON value only")


def schema_errors(schema: dict[str, Any], value: Any) -> list[str]:
    """Every way ``value`` fails ``schema``, each as ``<pointer>: <message>`` (empty: valid)."""
    validator = Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        problems.append(f"{pointer}: {error.message}")
    return problems


def schema_instruction(schema: dict[str, Any]) -> str:
    """System-prompt paragraph asking for JSON matching ``schema``."""
    return (
        "Answer with one JSON value only (no prose, no code fence) that matches this JSON "
        f"Schema:\n{json.dumps(schema, indent=None, sort_keys=True)}"
    )


def repair_message(problems: list[str]) -> dict[str, Any]:
    """The user message of the repair round, listing what was wrong."""
    listed = "\n".join(f"- {p}" for p in problems[:20])
    return {
        "role": "user",
        "content": "Your previous answer did not match the required JSON Schema:\n"
        f"{listed}\nAnswer again with the corrected JSON only.",
    }


def parse_structured(schema: dict[str, Any], text: str | None) -> tuple[Any, list[str]]:
    """(value, problems): the JSON found in ``text`` and its schema problems."""
    try:
        value = extract_json(text)
    except ValueError as err:
        return None, [f"/: {err}"]
    return value, schema_errors(schema, value)
