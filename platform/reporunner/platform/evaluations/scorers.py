"""Scoring one answer: each scorer gives 0..1, a pass at its threshold, and a message."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import re2  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from reporunner.agents.structured import extract_json
from reporunner.nodes.errors import ReporunnerError
from reporunner.platform.evaluations.schemas import Scorer
from reporunner.platform.workflows.testing import Judge

__all__ = ["Embed", "answer_text", "score"]

Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]
SHOWN = 200


def answer_text(item: dict[str, Any]) -> str:
    """The answer in an output item: ``text`` (an ``ai.agent`` node's), else ``message`` or
    ``output``, else the whole item as JSON."""
    for key in ("text", "message", "output"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
        if value is not None and key == "output":
            return json.dumps(value, ensure_ascii=False)
    return json.dumps(item, ensure_ascii=False, default=str)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _short(value: Any) -> str:
    text = _text(value)
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return max(0.0, min(1.0, dot / norm)) if norm else 0.0


def _as_json(answer: Any) -> Any:
    if not isinstance(answer, str):
        return answer
    return extract_json(answer)


async def _raw(
    scorer: Scorer, answer: Any, expected: Any, judge: Judge | None, embed: Embed | None
) -> tuple[float, str, int, float]:
    kind = scorer.type
    if kind == "exact":
        same = _text(answer).strip() == _text(expected).strip()
        return float(same), f"the answer {'equals' if same else 'is not'} {_short(expected)}", 0, 0
    if kind == "contains":
        found = _text(expected).casefold() in _text(answer).casefold()
        verb = "contains" if found else "does not contain"
        return float(found), f"the answer {verb} {_short(expected)}", 0, 0
    if kind == "regex":
        found = re2.search(str(expected), _text(answer)) is not None
        return float(found), f"/{expected}/ {'matches' if found else 'does not match'}", 0, 0
    if kind == "json_schema":
        try:
            value = _as_json(answer)
        except ValueError as err:
            return 0.0, f"the answer is not JSON: {err}", 0, 0
        errors = list(Draft202012Validator(expected).iter_errors(value))
        if not errors:
            return 1.0, "the answer is valid against the schema", 0, 0
        where = "/" + "/".join(str(p) for p in errors[0].absolute_path)
        return 0.0, f"{where}: {errors[0].message}", 0, 0
    if kind == "similarity":
        if embed is None:
            return 0.0, "no embedding model is available", 0, 0
        first, second = await embed([_text(answer), _text(expected)])
        value = _cosine(first, second)
        return value, f"cosine similarity {value:.3f} to {_short(expected)}", 0, 0
    if judge is None:
        return 0.0, "no judge model is configured", 0, 0
    criteria = scorer.criteria or f"The answer says the same as this expected answer: {expected}"
    passed, reason, tokens, cost = await judge(answer, criteria, scorer.model)
    return float(passed), f"judge: {reason}", tokens, cost


async def score(
    scorer: Scorer,
    answer: Any,
    case_expected: Any,
    *,
    judge: Judge | None = None,
    embed: Embed | None = None,
) -> dict[str, Any]:
    """Score ``answer``: ``{type, score, passed, message, tokens, cost_usd}``.

    A scorer that cannot score (the judge unreachable, no embedding model) scores 0 and says
    why in its message; it never fails the whole run.
    """
    expected = scorer.expected if scorer.expected is not None else case_expected
    try:
        value, message, tokens, cost = await _raw(scorer, answer, expected, judge, embed)
    except ReporunnerError as err:
        value, message, tokens, cost = 0.0, f"could not score: {err.detail}", 0, 0.0
    return {
        "type": scorer.type,
        "score": round(value, 4),
        "passed": value >= scorer.passing,
        "message": message,
        "tokens": tokens,
        "cost_usd": cost,
    }
