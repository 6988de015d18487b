"""Generation with a scripted model: invalid answers are repaired, never returned."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from reporunner.agents.copilot import CREDENTIAL_PLACEHOLDER, Copilot, CopilotFailed
from reporunner.agents.copilot.prompt import GENERATE_TOOL
from reporunner.agents.testing import Reply, ScriptedLLM, tool_call
from reporunner.nodes.registry import default_registry
from reporunner.platform.engine import validate

DESCRIPTION = (
    "every morning at 8 fetch the Hacker News front page and post the top stories to Slack"
)

VALID: dict[str, Any] = {
    "name": "HN to Slack",
    "nodes": [
        {"id": "every_morning", "type": "trigger.schedule", "params": {"cron": "0 8 * * *"}},
        {
            "id": "fetch",
            "type": "http.request",
            "params": {"method": "GET", "url": "https://news.ycombinator.com/"},
        },
        {
            "id": "post",
            "type": "slack.message",
            "params": {"text": "Top stories: {{ nodes.fetch.output.body }}"},
            "credentials": {"webhook_url": "hooks.slack.com/services/T000/B000/XXXX"},
        },
    ],
    "edges": [
        {"source": "every_morning", "target": "fetch"},
        {"source": "fetch", "target": "post"},
    ],
}
EXPLAIN = {
    "every_morning": "Starts the run at 08:00 every day.",
    "fetch": "Downloads the front page.",
    "post": "Posts the stories to the Slack channel.",
}


def submit(definition: dict[str, Any], explanations: dict[str, str] | None = None) -> Reply:
    return Reply(
        tool_calls=[
            tool_call(
                GENERATE_TOOL,
                {
                    "definition": definition,
                    "explanations": explanations or {},
                    "summary": "Posts the Hacker News front page to Slack every morning.",
                },
            )
        ]
    )


def broken() -> dict[str, Any]:
    """Unknown node type, bad param and a dangling edge in one answer."""
    bad = copy.deepcopy(VALID)
    bad["nodes"][1]["type"] = "http.reqest"
    bad["nodes"][0]["params"] = {"cron": "0 8 * * *", "every": "morning"}
    bad["edges"].append({"source": "post", "target": "archive"})
    return bad


async def test_invalid_first_answer_is_repaired(copilot: Copilot, llm: ScriptedLLM) -> None:
    llm.plan(submit(broken()), submit(VALID, EXPLAIN))

    result = await copilot.generate(DESCRIPTION)

    assert validate(result.definition, default_registry()) == []
    assert result.repairs == 1
    codes = {p["code"] for p in result.attempts[0].problems}
    assert {"unknown_node_type", "invalid_params", "dangling_edge"} <= codes
    assert result.attempts[1].problems == ()
    # the problems went back to the model as the tool's result, with what to fix
    feedback = llm.requests[1].messages[-1]
    assert feedback["role"] == "tool"
    assert "http.reqest" in feedback["content"]
    assert "did you mean 'http.request'" in feedback["content"]
    assert "archive" in feedback["content"]
    assert "/nodes/0/params/every" in feedback["content"]
    assert llm.remaining == 0


async def test_result_explains_nodes_and_lists_credentials(
    copilot: Copilot, llm: ScriptedLLM
) -> None:
    llm.plan(submit(VALID, EXPLAIN))

    result = await copilot.generate(DESCRIPTION)

    assert result.repairs == 0
    assert [(e.node_id, e.explanation) for e in result.explanations] == list(EXPLAIN.items())
    # the model's "credential" (a made-up webhook) is never kept: a placeholder to supply
    post = result.definition["nodes"][2]
    assert post["credentials"] == {"webhook_url": CREDENTIAL_PLACEHOLDER}
    assert "hooks.slack.com" not in json.dumps(result.definition)
    assert [m.as_dict() for m in result.missing_credentials] == [
        {"node_id": "post", "node_type": "slack.message", "credential_type": "webhook_url"}
    ]
    # every node got a canvas position, left to right along the edges
    xs = [n["position"]["x"] for n in result.definition["nodes"]]
    assert xs == sorted(xs)
    assert len(set(xs)) == 3


async def test_prompt_carries_only_candidate_node_types(copilot: Copilot, llm: ScriptedLLM) -> None:
    llm.plan(submit(VALID, EXPLAIN))

    result = await copilot.generate(DESCRIPTION)

    system = llm.requests[0].messages[0]["content"]
    offered = {c.type for c in result.candidates}
    assert {"slack.message", "http.request", "trigger.schedule", "logic.if"} <= offered
    assert len(offered) < len(copilot.index.entries)
    for type_ in copilot.index.entries:
        assert (f'"type":"{type_}"' in system) == (type_ in offered), type_
    assert llm.requests[0].tool_names == [GENERATE_TOOL]
    assert llm.requests[0].params["tool_choice"]["function"]["name"] == GENERATE_TOOL


async def test_literal_secret_in_params_is_sent_back(copilot: Copilot, llm: ScriptedLLM) -> None:
    leaky = copy.deepcopy(VALID)
    leaky["nodes"][1]["params"]["headers"] = {"api_key": "sk-live-123"}
    llm.plan(submit(leaky), submit(VALID))

    result = await copilot.generate(DESCRIPTION)

    assert [p["code"] for p in result.attempts[0].problems] == ["literal_secret"]
    assert "sk-live-123" not in json.dumps(result.definition)


async def test_text_answer_and_bad_arguments_are_repaired(
    copilot: Copilot, llm: ScriptedLLM
) -> None:
    llm.plan(
        Reply("Sure! Here is a plan in words."),
        Reply(tool_calls=[tool_call(GENERATE_TOOL, '{"definition": [1,')]),
        submit(VALID),
    )

    result = await copilot.generate(DESCRIPTION)

    assert [p["code"] for a in result.attempts[:2] for p in a.problems] == [
        "no_tool_call",
        "invalid_tool_arguments",
    ]
    assert result.repairs == 2
    assert llm.requests[1].messages[-1]["role"] == "user"  # no tool call to answer


async def test_gives_up_after_last_round_with_problems(copilot: Copilot, llm: ScriptedLLM) -> None:
    llm.plan(*(submit(broken()) for _ in range(4)))

    with pytest.raises(CopilotFailed) as info:
        await copilot.generate(DESCRIPTION)

    err = info.value
    assert err.status == 422
    assert err.attempts == 4  # the first answer and 3 repair rounds
    assert {"unknown_node_type", "dangling_edge"} <= {p["code"] for p in err.problems}
    assert llm.remaining == 0
    assert len(llm.requests) == 4


async def test_lenient_about_json_text_and_explanation_lists(
    copilot: Copilot, llm: ScriptedLLM
) -> None:
    args = {
        "definition": json.dumps(VALID),
        "explanations": [{"node_id": k, "explanation": v} for k, v in EXPLAIN.items()],
    }
    llm.plan(Reply(tool_calls=[tool_call(GENERATE_TOOL, args)]))

    result = await copilot.generate(DESCRIPTION)

    assert result.repairs == 0
    assert [e.explanation for e in result.explanations] == list(EXPLAIN.values())
