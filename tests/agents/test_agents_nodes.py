"""ai.llm and ai.classify over the scripted provider; discovery of the AI nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reporunner.agents.errors import StructuredOutputInvalid
from reporunner.agents.nodes import AiAgent, AiClassify, AiLlm, node_classes
from reporunner.agents.testing import Reply, ScriptedLLM, scripted_llm
from reporunner.nodes.catalog import node_schema
from reporunner.nodes.registry import NodeRegistry
from reporunner.nodes.testing import NodeTestContext, run_node


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


async def test_ai_llm_text_and_usage(llm: ScriptedLLM) -> None:
    llm.price("scripted/priced-llm", 1e-6, 2e-6)
    llm.plan(Reply("A short summary.", prompt_tokens=1000, completion_tokens=100))
    ctx = NodeTestContext()
    params = {"model": "scripted/priced-llm", "prompt": "Summarise", "system_prompt": "Be brief."}
    out = await run_node(AiLlm, params, {"main": [{"a": 1}]}, ctx)
    item = out.ports["main"][0]
    assert item["text"] == "A short summary."
    assert item["json"] is None
    assert item["usage"]["total_tokens"] == 1100
    assert item["usage"]["cost_usd"] == pytest.approx(0.0012)
    assert ctx.events[0] == ("llm.usage", {**item["usage"], "model": "scripted/priced-llm"})
    assert ctx.events[1] == (
        "usage",
        {
            "tokens_in": 1000,
            "tokens_out": 100,
            "cost_usd": pytest.approx(0.0012),
            "model": "scripted/priced-llm",
        },
    )
    assert llm.requests[0].messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Summarise"},
    ]


async def test_ai_llm_json_with_repair(llm: ScriptedLLM) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    llm.plan(Reply('{"n": "three"}'), Reply('{"n": 3}'))
    params = {"model": "scripted/m", "prompt": "count", "output_schema": schema}
    out = await run_node(AiLlm, params, {"main": [{}]}, NodeTestContext())
    assert out.ports["main"][0]["json"] == {"n": 3}
    assert "/n: 'three' is not of type 'integer'" in llm.requests[1].messages[-1]["content"]
    assert out.ports["main"][0]["usage"]["calls"] == 2


async def test_ai_llm_json_gives_up_after_one_repair(llm: ScriptedLLM) -> None:
    llm.plan(Reply("nope"), Reply("still nope"))
    params = {"model": "scripted/m", "prompt": "x", "output_schema": {"type": "object"}}
    with pytest.raises(StructuredOutputInvalid):
        await run_node(AiLlm, params, {"main": [{}]}, NodeTestContext())


async def test_ai_llm_refuses_an_invalid_schema_before_calling(llm: ScriptedLLM) -> None:
    from reporunner.nodes.errors import ValidationFailed

    params = {"model": "scripted/m", "prompt": "x", "output_schema": {"type": "nonsense"}}
    with pytest.raises(ValidationFailed, match="not a valid JSON Schema"):
        await run_node(AiLlm, params, {"main": [{}]}, NodeTestContext())
    assert llm.requests == []


LABELS = [
    {"name": "billing", "description": "invoices, refunds"},
    {"name": "bug", "description": "something broken"},
]


async def test_ai_classify_routes_each_item_to_its_label(llm: ScriptedLLM) -> None:
    llm.plan(
        Reply('{"labels": ["billing"], "reason": "refund"}'),
        Reply('{"labels": ["bug"], "reason": "crash"}'),
    )
    params = {"model": "scripted/m", "text": "the text", "labels": LABELS}
    items = [{"id": 1}, {"id": 2}]
    out = await run_node(AiClassify, params, {"main": items}, NodeTestContext())
    assert [i["id"] for i in out.ports["billing"]] == [1]
    assert [i["id"] for i in out.ports["bug"]] == [2]
    assert out.ports["billing"][0]["classification"]["reason"] == "refund"
    assert "billing: invoices, refunds" in llm.requests[0].messages[0]["content"]


async def test_ai_classify_unplaceable_goes_to_other_after_repair(llm: ScriptedLLM) -> None:
    llm.plan(Reply('{"labels": ["sales"]}'), Reply("I am not sure"))
    params = {"model": "scripted/m", "text": "hello", "labels": LABELS}
    out = await run_node(AiClassify, params, {"main": [{"id": 1}]}, NodeTestContext())
    assert list(out.ports) == ["other"]
    assert out.ports["other"][0]["classification"]["labels"] == []
    assert len(llm.requests) == 2


def test_ai_classify_ports_come_from_labels() -> None:
    ports = [p.name for p in AiClassify.output_ports({"labels": LABELS})]
    assert ports == ["billing", "bug", "other"]
    with pytest.raises(ValueError, match="output port"):
        AiClassify.Params.model_validate({"text": "x", "labels": [{"name": "Bad Name"}]})


def test_nodes_register_and_have_catalog_entries() -> None:
    registry = NodeRegistry()
    for cls in node_classes():
        registry.register(cls)
    assert registry.types() == ["ai.agent", "ai.classify", "ai.llm"]
    for cls in (AiAgent, AiClassify, AiLlm):
        schema = node_schema(cls)
        assert schema["category"] == "ai"
        assert cls.Params.model_validate(dict(cls.example))
        assert schema["credential_types"] == ["api_key"]
    agent_params = node_schema(AiAgent)["params"]
    assert "tools" in agent_params["properties"]
