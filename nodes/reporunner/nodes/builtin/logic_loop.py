"""``logic.loop``: iterates over items in batches, with the loop body wired back to it.

Wiring: ``main`` (items to iterate) -> Loop -> ``loop`` -> body nodes -> Loop's ``continue``
input; Loop's ``done`` output carries every body result once all batches are through. Between
runs the node keeps its pending items and collected results in ``ctx.state()``, which the engine
checkpoints, so a crashed execution resumes mid-loop.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.errors import NodeError

__all__ = ["Loop", "LoopParams"]

_KEYS = ("pending", "results", "iterations", "total")


class LoopParams(BaseModel):
    """Params of ``logic.loop``."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(
        default=1, ge=1, le=10_000, description="Items sent out of 'loop' per iteration."
    )
    max_iterations: int = Field(
        default=1_000,
        ge=1,
        le=100_000,
        description="Safety bound: the execution fails if the loop would run more iterations "
        "than this (raise it for long lists, or raise batch_size).",
    )


class Loop(Node[LoopParams]):
    """Batches over items; body results come back on ``continue`` and leave on ``done``."""

    type = "logic.loop"
    category = Category.LOGIC
    display_name = "Loop over items"
    description = (
        "Iterates over the items received on 'main' in batches of 'batch_size': each batch is "
        "sent out of 'loop' to the loop body, whose last node must connect back to this node's "
        "'continue' input. When every batch has come back, all items received on 'continue' "
        "are sent out of 'done' in order. Fails after 'max_iterations' batches."
    )
    Params = LoopParams
    extra_loop_runs = 1  # N iterations take N + 1 runs: the last one hands on 'done'
    inputs = (
        Port("main", "Items to iterate over (starts a new loop)."),
        Port("continue", "Results of the loop body for the previous batch."),
    )
    outputs = (
        Port("loop", "The next batch of items, for the loop body."),
        Port("done", "Every body result, once all batches are done."),
    )
    example: ClassVar[dict[str, Any]] = {"batch_size": 10, "max_iterations": 100}

    async def run(self, ctx: NodeContext, params: LoopParams, inputs: NodeInputs) -> NodeOutput:
        state = ctx.state()
        fresh = list(inputs.get("main", []))
        returned = inputs.get("continue")
        if fresh or returned is None or ("pending" not in state and not returned):
            _start(state, fresh)
        else:
            if "pending" not in state:
                raise NodeError(
                    "logic.loop received items on 'continue' but no loop is running; connect "
                    "the items to iterate to its 'main' input"
                )
            state["results"] = [*state["results"], *returned]
        return self._next(ctx, state, params)

    def _next(
        self, ctx: NodeContext, state: MutableMapping[str, Any], params: LoopParams
    ) -> NodeOutput:
        pending: list[Item] = state["pending"]
        if not pending:
            results: list[Item] = state["results"]
            for key in _KEYS:
                state.pop(key, None)
            return NodeOutput.to("done", results)
        if state["iterations"] >= params.max_iterations:
            raise NodeError(
                f"logic.loop stopped after max_iterations={params.max_iterations} batches with "
                f"{len(pending)} of {state['total']} items left; raise max_iterations or "
                "batch_size"
            )
        batch, rest = pending[: params.batch_size], pending[params.batch_size :]
        state["pending"] = rest
        state["iterations"] += 1
        ctx.logger.debug(
            "loop batch %d: %d items, %d left", state["iterations"], len(batch), len(rest)
        )
        return NodeOutput.to("loop", batch)


def _start(state: MutableMapping[str, Any], items: list[Item]) -> None:
    state.update({"pending": items, "results": [], "iterations": 0, "total": len(items)})
