"""A real ``reporunner worker`` process whose LLM calls go to the scripted provider.

Run as ``python scripted_worker_testkit.py PLAN_JSON``: ``PLAN_JSON`` is a list of replies
(``{"text": ..., "tool_calls": [{"name": ..., "arguments": {...}, "id": ...}],
"prompt_tokens": n, "completion_tokens": n}``) and optionally ``{"price": [model, in, out]}``
first; the settings come from the environment like any worker's.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from reporunner.agents.testing import Reply, scripted_llm, tool_call
from reporunner.platform.cli import main

__all__ = ["run"]


def _reply(step: dict[str, Any]) -> Reply:
    calls = [
        tool_call(c["name"], c.get("arguments"), c.get("id", ""))
        for c in step.get("tool_calls", [])
    ]
    return Reply(
        step.get("text"), calls, step.get("prompt_tokens", 10), step.get("completion_tokens", 5)
    )


def run(plan: list[dict[str, Any]]) -> int:
    """Serve as a worker until told to stop, answering LLM calls from ``plan``."""
    with scripted_llm() as llm:
        for step in plan:
            if "price" in step:
                llm.price(*step["price"])
            else:
                llm.plan(_reply(step))
        return main(["worker"])


if __name__ == "__main__":
    sys.exit(run(json.loads(sys.argv[1])))
