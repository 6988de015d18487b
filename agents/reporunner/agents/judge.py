"""An LLM judge: does a value meet criteria given in words? (test cases and evaluations).

The judge is asked for a JSON verdict ``{"pass": bool, "reason": str}``; an answer that is not
one counts as a failed check with the answer quoted, never as a pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reporunner.agents.llm.client import LLMClient
from reporunner.agents.llm.config import LLMConfig
from reporunner.agents.structured import extract_json

__all__ = ["JUDGE_SYSTEM", "Verdict", "judge"]

JUDGE_SYSTEM = (
    "You are a strict evaluator. You get CRITERIA and an OUTPUT produced by a workflow or an "
    "agent. Decide whether the OUTPUT meets every criterion. Answer with one JSON object and "
    'nothing else: {"pass": true or false, "reason": "one sentence"}.'
)
MAX_OUTPUT_CHARS = 20_000
"""The judged value is cut to this many characters of JSON (the judge sees it was cut)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's decision and its reason, with the tokens the call used."""

    passed: bool
    reason: str
    tokens: int = 0
    cost_usd: float = 0.0


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_OUTPUT_CHARS:
        return text[:MAX_OUTPUT_CHARS] + f"\n[... cut: {len(text)} characters in all]"
    return text


async def judge(value: Any, criteria: str, config: LLMConfig) -> Verdict:
    """Ask the model in ``config`` whether ``value`` meets ``criteria``.

    Raises:
        LLMCallFailed: the model could not be reached after its retries.
    """
    response = await LLMClient(config).complete(
        [
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": f"CRITERIA:\n{criteria}\n\nOUTPUT:\n{_shown(value)}"},
        ],
        temperature=0,
    )
    tokens, cost = response.usage.total_tokens, response.usage.cost_usd
    try:
        answer = extract_json(response.content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("pass"), bool):
        quoted = (response.content or "")[:200]
        return Verdict(False, f"the judge did not answer with a verdict: {quoted!r}", tokens, cost)
    return Verdict(answer["pass"], str(answer.get("reason") or ""), tokens, cost)
