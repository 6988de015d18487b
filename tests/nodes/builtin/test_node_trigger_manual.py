"""trigger.manual: outputs the run's input item."""

from __future__ import annotations

from reporunner.nodes.builtin.trigger_manual import ManualTrigger
from reporunner.nodes.testing import NodeTestContext, run_node


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
