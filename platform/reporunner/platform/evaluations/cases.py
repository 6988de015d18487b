"""The evaluation loop that any target plugs into: answer each case, score the answer, sum
up. The worker's runs (``service.execute_run``) and ``bench/copilot_eval.py`` both use it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reporunner.platform.evaluations.schemas import Scorer
from reporunner.platform.evaluations.scorers import Embed, score
from reporunner.platform.workflows.testing import Judge

__all__ = ["Answer", "AnswerFn", "evaluate_cases", "score_answer", "summary"]


@dataclass(slots=True)
class Answer:
    """What a target made of one case's input.

    Attributes:
        status: ``succeeded``; anything else (``failed``, ``cancelled``) scores 0.
        value: What the scorers look at (a structured output, or the text).
        text: The answer as shown in the results.
        error: Why it did not succeed.
        tokens_in, tokens_out, cost_usd: What producing it cost.
        extra: Target-specific figures kept with the case's result.
    """

    status: str
    value: Any = None
    text: str | None = None
    error: dict[str, Any] | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


AnswerFn = Callable[[int, Mapping[str, Any]], Awaitable[Answer]]
"""``(index, case) -> Answer``: runs the target on one case."""


async def score_answer(
    index: int,
    case: Mapping[str, Any],
    answer: Answer,
    scorers: Sequence[Scorer],
    *,
    judge: Judge | None,
    embed: Embed | None,
    duration_ms: float = 0.0,
) -> dict[str, Any]:
    """One case's result: the answer, every scorer's score, the mean, pass, tokens, cost."""
    result: dict[str, Any] = {
        "index": index,
        "name": case.get("name"),
        "input": case.get("input"),
        "status": answer.status,
        "duration_ms": round(duration_ms, 1),
        "tokens_in": answer.tokens_in,
        "tokens_out": answer.tokens_out,
        "cost_usd": answer.cost_usd,
        **answer.extra,
    }
    if answer.status != "succeeded":
        result.update(answer=None, scores=[], score=0.0, passed=False, error=answer.error)
        return result
    scores = []
    for scorer in scorers:
        scored = await score(scorer, answer.value, case.get("expected"), judge=judge, embed=embed)
        result["tokens_in"] += scored.pop("tokens")  # the judge's tokens count as the run's
        result["cost_usd"] += scored.pop("cost_usd")
        scores.append(scored)
    mean = sum(s["score"] for s in scores) / len(scores) if scores else 0.0
    result.update(
        answer=answer.text,
        scores=scores,
        score=round(mean, 4),
        passed=all(s["passed"] for s in scores),
    )
    return result


def summary(cases: int, results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals of the results so far: done, passed, mean score, tokens and cost."""
    scored = [float(r["score"]) for r in results if r.get("score") is not None]
    return {
        "cases": cases,
        "done": len(results),
        "passed": sum(1 for r in results if r.get("passed")),
        "mean_score": round(sum(scored) / len(scored), 4) if scored else None,
        "tokens_in": sum(int(r.get("tokens_in") or 0) for r in results),
        "tokens_out": sum(int(r.get("tokens_out") or 0) for r in results),
        "cost_usd": round(sum(float(r.get("cost_usd") or 0) for r in results), 6),
    }


async def evaluate_cases(
    cases: Sequence[Mapping[str, Any]],
    defaults: Sequence[Scorer],
    answer: AnswerFn,
    *,
    judge: Judge | None = None,
    embed: Embed | None = None,
    done: Sequence[dict[str, Any]] = (),
    stop: Callable[[], Awaitable[bool]] | None = None,
    on_result: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    """Answer and score ``cases`` one after the other, after the ``done`` ones.

    Args:
        cases: Each with ``input``, optional ``name``, ``expected`` and ``scorers``.
        defaults: Scorers of cases without their own.
        answer: Runs the target on one case.
        judge, embed: For ``judge`` and ``similarity`` scorers.
        done: Results saved earlier (a run picked up again goes on after them).
        stop: Asked before each case; True ends the loop (a cancel).
        on_result: Awaited with all results after each case (progress, saving).

    Returns:
        Every result, ``done`` ones first; a case whose answer was ``cancelled`` is left out.
    """
    results = list(done)
    for index in range(len(results), len(cases)):
        if stop is not None and await stop():
            break
        case = cases[index]
        own = [Scorer.model_validate(s) for s in case.get("scorers") or []]
        started = time.perf_counter()
        made = await answer(index, case)
        if made.status == "cancelled":
            break
        took = (time.perf_counter() - started) * 1000
        results.append(
            await score_answer(
                index, case, made, own or defaults, judge=judge, embed=embed, duration_ms=took
            )
        )
        if on_result is not None:
            await on_result(results)
    return results
