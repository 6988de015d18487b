"""``logic.wait``: pauses for a duration or until a point in time, then passes items on.

The wait happens inside the worker, so it is capped (:data:`MAX_WAIT_SECONDS`); longer pauses
belong to a schedule trigger or an approval step, which park the execution instead of holding a
worker. The node polls ``ctx.is_cancelled()`` while it waits so a cancelled execution stops
promptly.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.errors import NodeError

__all__ = ["MAX_WAIT_SECONDS", "Wait", "WaitCancelled", "WaitParams"]

MAX_WAIT_SECONDS = 3600.0
_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0}


class WaitCancelled(NodeError):
    """The execution was cancelled while the node was waiting."""

    code = "cancelled"
    status = 409


class WaitParams(BaseModel):
    """Params of ``logic.wait``."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["duration", "until"] = Field(
        default="duration",
        description="'duration': wait 'amount' 'unit'; 'until': wait until the time 'until'.",
    )
    amount: float = Field(
        default=1.0, ge=0, description="How long to wait in mode 'duration', in 'unit'."
    )
    unit: Literal["seconds", "minutes", "hours"] = Field(
        default="seconds", description="Unit of 'amount'."
    )
    until: AwareDatetime | None = Field(
        default=None,
        description="ISO 8601 time with a UTC offset (e.g. '2025-01-31T09:00:00+01:00') to "
        "wait until in mode 'until'; a time in the past does not wait.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> WaitParams:
        if self.mode == "until" and self.until is None:
            raise ValueError("mode 'until' needs 'until', an ISO 8601 time with a UTC offset")
        if self.mode == "duration" and self.amount * _UNITS[self.unit] > MAX_WAIT_SECONDS:
            raise ValueError(
                f"waits are capped at {MAX_WAIT_SECONDS:g} seconds; for longer pauses use a "
                "schedule trigger or an approval step"
            )
        return self

    def seconds(self, now: datetime) -> float:
        """Seconds left to wait, measured from ``now``."""
        if self.mode == "duration":
            return self.amount * _UNITS[self.unit]
        assert self.until is not None
        return max((self.until - now).total_seconds(), 0.0)


class Wait(Node[WaitParams]):
    """Delays the flow; items pass through unchanged."""

    type = "logic.wait"
    category = Category.LOGIC
    display_name = "Wait"
    description = (
        "Pauses the workflow for a duration ('amount' + 'unit') or until an ISO 8601 time "
        f"('until'), at most {MAX_WAIT_SECONDS:g} seconds, then sends the input items out of "
        "'main' unchanged. Stops early with an error if the execution is cancelled."
    )
    Params = WaitParams
    inputs = (Port("main", "Items to delay."),)
    outputs = (Port("main", "The same items, after the wait."),)
    example: ClassVar[dict[str, Any]] = {"mode": "duration", "amount": 30, "unit": "seconds"}
    poll_seconds: ClassVar[float] = 0.2
    """How often the wait checks for cancellation."""

    async def run(self, ctx: NodeContext, params: WaitParams, inputs: NodeInputs) -> NodeOutput:
        delay = params.seconds(datetime.now(UTC))
        if delay > MAX_WAIT_SECONDS:
            raise NodeError(
                f"logic.wait: 'until' is {delay:,.0f} seconds away, over the cap of "
                f"{MAX_WAIT_SECONDS:g}; use a schedule trigger for later times"
            )
        deadline = time.monotonic() + delay
        while True:
            if ctx.is_cancelled():
                raise WaitCancelled("logic.wait: the execution was cancelled during the wait")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(min(remaining, self.poll_seconds))
        return NodeOutput.main(list(inputs.get("main", [])))
