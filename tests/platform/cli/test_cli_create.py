"""``reporunner create``: a scripted model, the definition to stdout or a file, notes to stderr."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reporunner.agents.copilot import CREDENTIAL_PLACEHOLDER
from reporunner.agents.copilot.prompt import GENERATE_TOOL
from reporunner.agents.testing import Reply, ScriptedLLM, scripted_llm, tool_call
from reporunner.platform.cli import main

DEFINITION: dict[str, Any] = {
    "name": "Feed to Discord",
    "nodes": [
        {"id": "hourly", "type": "trigger.schedule", "params": {"cron": "0 * * * *"}},
        {"id": "feed", "type": "rss.read", "params": {"url": "https://blog.example.com/feed"}},
        {"id": "post", "type": "discord.message", "params": {"content": "{{ item.title }}"},
         "credentials": {"webhook_url": "https://discord.com/api/webhooks/1/abc"}},
    ],
    "edges": [{"source": "hourly", "target": "feed"}, {"source": "feed", "target": "post"}],
}  # fmt: skip


def submit(definition: dict[str, Any]) -> Reply:
    args = {"definition": definition, "explanations": {"feed": "Reads the blog feed."}}
    return Reply(tool_calls=[tool_call(GENERATE_TOOL, args)])


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    monkeypatch.setenv("REPORUNNER_LLM_MODEL", "scripted/cli")
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture
def litellm_info_logs() -> Iterator[None]:
    """litellm's handler writes records below WARNING to sys.stdout; turn them on."""
    logger = logging.getLogger("LiteLLM")
    before = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(before)


def test_create_prints_a_valid_definition(llm: ScriptedLLM, capsys, litellm_info_logs) -> None:
    llm.plan(submit({**DEFINITION, "edges": []}), submit(DEFINITION))

    code = main(["create", "post new blog posts to Discord every hour"])

    out, err = capsys.readouterr()
    assert code == 0, err
    definition = json.loads(out)
    assert [n["type"] for n in definition["nodes"]] == [
        "trigger.schedule", "rss.read", "discord.message",
    ]  # fmt: skip
    assert definition["nodes"][2]["credentials"] == {"webhook_url": CREDENTIAL_PLACEHOLDER}
    assert "feed (rss.read): Reads the blog feed." in err
    assert "post: webhook_url" in err
    assert "valid after 2 answer(s)" in err


def test_create_writes_yaml_to_a_file(llm: ScriptedLLM, tmp_path: Path, capsys) -> None:
    llm.plan(submit(DEFINITION))
    target = tmp_path / "wf.yaml"

    code = main(["create", "blog posts to Discord", "-o", str(target)])

    out, _ = capsys.readouterr()
    assert code == 0
    assert out == ""
    assert yaml.safe_load(target.read_text())["name"] == "Feed to Discord"


def test_create_fails_in_one_line_after_the_last_round(llm: ScriptedLLM, capsys) -> None:
    broken = {**DEFINITION, "edges": [{"source": "hourly", "target": "fed"}]}
    llm.plan(submit(broken), submit(broken))

    code = main(["create", "blog posts to Discord", "--max-repairs", "1"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "reporunner: the model did not produce a valid workflow in 2 attempt(s)" in err
    assert "'fed', which does not exist" in err
