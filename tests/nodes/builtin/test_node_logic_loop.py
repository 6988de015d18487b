"""logic.loop: batches out of 'loop', results back on 'continue', everything out of 'done'."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reporunner.nodes.base import Item
from reporunner.nodes.builtin.logic_loop import Loop
from reporunner.nodes.errors import NodeError
from reporunner.nodes.testing import NodeTestContext, run_node


async def _drive(params: dict[str, Any], items: list[Item], ctx: NodeTestContext) -> list[Any]:
    """Play the engine: feed 'main', run a body on each batch, feed results to 'continue'."""
    trace: list[Any] = []
    out = await run_node(Loop, params, {"main": items}, ctx)
    for _ in range(100):
        if "done" in out.ports:
            trace.append(("done", out.ports["done"]))
            return trace
        batch = out.ports["loop"]
        trace.append(("loop", [i["n"] for i in batch]))
        json.dumps(ctx.node_state)  # state must stay JSON-safe for checkpoints
        body = [{**i, "squared": i["n"] ** 2} for i in batch]
        out = await run_node(Loop, params, {"continue": body}, ctx)
    raise AssertionError("loop did not finish")


async def test_batches_then_done_with_all_results() -> None:
    ctx = NodeTestContext()
    items = [{"n": n} for n in range(1, 6)]
    trace = await _drive({"batch_size": 2}, items, ctx)
    assert trace[:3] == [("loop", [1, 2]), ("loop", [3, 4]), ("loop", [5])]
    assert trace[3] == ("done", [{"n": n, "squared": n * n} for n in range(1, 6)])
    assert ctx.node_state == {}


async def test_body_may_drop_items_and_a_new_main_restarts() -> None:
    ctx = NodeTestContext()
    out = await run_node(Loop, {"batch_size": 1}, {"main": [{"n": 1}, {"n": 2}]}, ctx)
    assert out.ports == {"loop": [{"n": 1}]}
    out = await run_node(Loop, {"batch_size": 1}, {"continue": []}, ctx)
    assert out.ports == {"loop": [{"n": 2}]}
    out = await run_node(Loop, {"batch_size": 1}, {"main": [{"n": 9}]}, ctx)
    assert out.ports == {"loop": [{"n": 9}]}
    out = await run_node(Loop, {"batch_size": 1}, {"continue": [{"n": 9, "ok": True}]}, ctx)
    assert out.ports == {"done": [{"n": 9, "ok": True}]}


async def test_empty_input_is_done_at_once() -> None:
    out = await run_node(Loop, {}, {"main": []})
    assert out.ports == {"done": []}


async def test_max_iterations_bounds_the_loop() -> None:
    ctx = NodeTestContext()
    params = {"batch_size": 1, "max_iterations": 2}
    await run_node(Loop, params, {"main": [{"n": 1}, {"n": 2}, {"n": 3}]}, ctx)
    await run_node(Loop, params, {"continue": [{"n": 1}]}, ctx)
    with pytest.raises(NodeError, match="max_iterations=2 batches with 1 of 3 items left"):
        await run_node(Loop, params, {"continue": [{"n": 2}]}, ctx)


async def test_continue_without_a_running_loop_says_how_to_wire_it() -> None:
    with pytest.raises(NodeError, match="connect the items to iterate to its 'main' input"):
        await run_node(Loop, {}, {"continue": [{"n": 1}]})
