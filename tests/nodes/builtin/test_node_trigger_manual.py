"""trigger.manual: outputs the run's input item; a declared input_schema is checked (the
schema when the workflow is validated, each item when the trigger runs)."""

from __future__ import annotations

from typing import Any

import pytest

from reporunner.nodes.builtin.trigger_manual import ManualTrigger
from reporunner.nodes.errors import ValidationFailed
from reporunner.nodes.registry import default_registry
from reporunner.nodes.testing import NodeTestContext, run_node
from reporunner.platform.engine import validate


async def test_outputs_the_trigger_item() -> None:
    ctx = NodeTestContext(trigger={"customer": "acme"})
    out = await run_node(ManualTrigger, {}, {}, ctx)
    assert out.ports == {"main": [{"customer": "acme"}]}
    assert out.ports["main"][0] is not ctx.trigger


async def test_empty_input_is_an_empty_item() -> None:
    assert (await run_node(ManualTrigger, {}, {})).ports == {"main": [{}]}


async def test_items_handed_to_the_trigger_pass_through() -> None:
    """A sub-workflow started with several items sees all of them, not only the first."""
    items = [{"n": 1}, {"n": 2}, {"n": 3}]
    out = await run_node(
        ManualTrigger, inputs={"__start__": items}, ctx=NodeTestContext(trigger=items[0])
    )
    assert out.ports["main"] == items


# --- declared input (input_schema) ---

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer": {"type": "string", "minLength": 1},
        "qty": {"type": "integer", "minimum": 1},
        "address": {
            "type": "object",
            "properties": {"zip": {"type": "string"}},
            "required": ["zip"],
        },
    },
    "required": ["customer"],
}


def _definition(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "declared input",
        "nodes": [
            {"id": "start", "type": "trigger.manual", "params": params},
            {"id": "noop", "type": "logic.noop"},
        ],
        "edges": [{"source": "start", "target": "noop"}],
    }


async def test_an_item_matching_the_declared_schema_passes() -> None:
    item = {"customer": "acme", "qty": 2, "address": {"zip": "10115"}}
    out = await run_node(ManualTrigger, {"input_schema": SCHEMA}, {}, NodeTestContext(trigger=item))
    assert out.ports == {"main": [item]}


@pytest.mark.parametrize(
    ("item", "pointer", "named"),
    [
        ({"qty": 1}, "/customer", "field 'customer' is required"),
        ({"customer": "acme", "qty": "two"}, "/qty", "field 'qty': 'two' is not of type"),
        ({"customer": "acme", "address": {}}, "/address/zip", "field 'address.zip' is required"),
    ],
)
async def test_an_item_not_matching_fails_naming_the_field(
    item: dict[str, Any], pointer: str, named: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        await run_node(ManualTrigger, {"input_schema": SCHEMA}, {}, NodeTestContext(trigger=item))
    assert named in info.value.detail
    assert "input_schema" in info.value.detail
    assert [p["pointer"] for p in info.value.problems] == [pointer]


async def test_every_sub_workflow_item_is_checked() -> None:
    items = [{"customer": "a"}, {"customer": ""}]
    with pytest.raises(ValidationFailed, match="input item 1") as info:
        await run_node(ManualTrigger, {"input_schema": SCHEMA}, {"__start__": items})
    assert "field 'customer'" in info.value.detail


def test_check_start_points_into_the_run_request() -> None:
    ManualTrigger.check_start({"input_schema": SCHEMA}, {"customer": "acme"})
    ManualTrigger.check_start({}, {"anything": True})  # no schema: anything goes
    with pytest.raises(ValidationFailed) as info:
        ManualTrigger.check_start({"input_schema": SCHEMA}, {"customer": "acme", "qty": 0})
    assert info.value.problems[0]["pointer"] == "/input/qty"


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        ({"type": "object", "properties": {"a": {"type": "bogus"}}}, "at '/properties/a/type'"),
        ({"type": "object", "required": "customer"}, "at '/required'"),
        ({"type": "string"}, '"type": "object"'),
    ],
)
def test_an_invalid_schema_is_a_validation_problem_at_the_param(
    schema: dict[str, Any], said: str
) -> None:
    problems = validate(_definition({"input_schema": schema}), default_registry())
    assert [(p.pointer, p.code) for p in problems] == [
        ("/nodes/0/params/input_schema", "invalid_params")
    ]
    assert said in problems[0].message


def test_definitions_without_the_param_stay_valid() -> None:
    assert validate(_definition({}), default_registry()) == []
    assert validate(_definition({"input_schema": SCHEMA}), default_registry()) == []
    assert ManualTrigger.version == 1


def test_the_schema_is_never_rendered_as_an_expression() -> None:
    schema = {"type": "object", "description": "{{ trigger.x }}"}
    problems = validate(_definition({"input_schema": schema}), default_registry())
    assert [p.code for p in problems] == ["literal_param_expression"]
