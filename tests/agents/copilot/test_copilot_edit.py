"""Edits: the model's JSON Patch is applied, validated, repaired, and returned exactly."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reporunner.agents.copilot import CREDENTIAL_PLACEHOLDER, Copilot, CopilotFailed, apply_patch
from reporunner.agents.copilot.prompt import EDIT_TOOL
from reporunner.agents.testing import Reply, ScriptedLLM, tool_call
from reporunner.nodes.registry import default_registry
from reporunner.platform.engine import parse_definition, validate

SLACK_ID = "2f0c7c1e-6f1b-4b36-9d0a-4d4e1f3b9a10"
CURRENT: dict[str, Any] = parse_definition(
    {
        "name": "HN to Slack",
        "nodes": [
            {"id": "every_morning", "type": "trigger.schedule", "params": {"cron": "0 8 * * *"}},
            {"id": "fetch", "type": "http.request", "params": {"url": "https://example.com/"}},
            {
                "id": "post",
                "type": "slack.message",
                "params": {"text": "{{ nodes.fetch.output.body }}"},
                "credentials": {"webhook_url": SLACK_ID},
            },
        ],
        "edges": [
            {"source": "every_morning", "target": "fetch"},
            {"source": "fetch", "target": "post"},
        ],
    }
).model_dump(mode="json")

EMAIL_NODE = {
    "id": "mail",
    "type": "email.send",
    "params": {"to": ["me@example.com"], "subject": "Top stories", "text": "{{ item.body }}"},
    "credentials": {"smtp": "smtp://me:hunter2@mail.example.com"},
}
ALSO_EMAIL = [
    {"op": "add", "path": "/nodes/-", "value": EMAIL_NODE},
    {"op": "add", "path": "/edges/-", "value": {"source": "fetch", "target": "mail"}},
]


def submit(patch: list[dict[str, Any]], summary: str = "Also send it by email.") -> Reply:
    return Reply(tool_calls=[tool_call(EDIT_TOOL, {"patch": patch, "summary": summary})])


async def test_edit_patch_is_applied_and_validated(copilot: Copilot, llm: ScriptedLLM) -> None:
    llm.plan(submit(ALSO_EMAIL))

    result = await copilot.edit(CURRENT, "also send it by email")

    assert validate(result.definition, default_registry()) == []
    assert apply_patch(CURRENT, result.patch) == result.definition
    assert [n["id"] for n in result.definition["nodes"]] == [
        "every_morning", "fetch", "post", "mail",
    ]  # fmt: skip
    assert result.summary == "Also send it by email."
    # the credential the user bound stays; the new node's is a placeholder to supply
    nodes = {n["id"]: n for n in result.definition["nodes"]}
    assert nodes["post"]["credentials"] == {"webhook_url": SLACK_ID}
    assert nodes["mail"]["credentials"] == {"smtp": CREDENTIAL_PLACEHOLDER}
    assert [(m.node_id, m.credential_type) for m in result.missing_credentials] == [
        ("mail", "smtp")
    ]
    assert "hunter2" not in str(result.patch)
    # the model saw the current definition and the instruction
    assert '"cron": "0 8 * * *"' in llm.requests[0].messages[1]["content"]
    assert "also send it by email" in llm.requests[0].messages[1]["content"]


async def test_patch_that_does_not_apply_or_validate_is_repaired(
    copilot: Copilot, llm: ScriptedLLM
) -> None:
    wrong_path = [{"op": "replace", "path": "/nodes/7/params/cron", "value": "0 8 * * 1-5"}]
    invalid = [{"op": "replace", "path": "/nodes/0/params/cron", "value": "at eight on weekdays"}]
    right = [{"op": "replace", "path": "/nodes/0/params/cron", "value": "0 8 * * 1-5"}]
    llm.plan(submit(wrong_path), submit(invalid), submit(right, "Only on weekdays."))

    result = await copilot.edit(CURRENT, "only on weekdays")

    assert [p["code"] for p in result.attempts[0].problems] == ["invalid_patch"]
    assert "index 7 is out of range" in result.attempts[0].problems[0]["message"]
    assert "/nodes/0/params/cron" in {p["pointer"] for p in result.attempts[1].problems}
    assert result.patch == right
    assert result.definition["nodes"][0]["params"]["cron"] == "0 8 * * 1-5"
    assert "ORIGINAL current definition" in llm.requests[1].messages[-1]["content"]


async def test_model_cannot_rebind_an_existing_credential(
    copilot: Copilot, llm: ScriptedLLM
) -> None:
    swap = [{"op": "replace", "path": "/nodes/2/credentials/webhook_url", "value": "made-up"}]
    llm.plan(submit([*swap, {"op": "replace", "path": "/name", "value": "HN digest"}]))

    result = await copilot.edit(CURRENT, "rename it to HN digest")

    assert result.patch == [{"op": "replace", "path": "/name", "value": "HN digest"}]
    assert result.definition["nodes"][2]["credentials"] == {"webhook_url": SLACK_ID}


async def test_edit_gives_up_with_the_remaining_problems(
    copilot: Copilot, llm: ScriptedLLM
) -> None:
    dangling = [{"op": "add", "path": "/edges/-", "value": {"source": "post", "target": "nope"}}]
    llm.plan(*(submit(dangling) for _ in range(4)))
    original = copy.deepcopy(CURRENT)

    with pytest.raises(CopilotFailed) as info:
        await copilot.edit(CURRENT, "connect it to nope")

    assert [p["code"] for p in info.value.problems] == ["dangling_edge"]
    assert original == CURRENT
