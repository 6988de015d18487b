"""``DatabaseHooks``: the engine's hooks as ``node_runs`` rows plus Redis events.

Every node run becomes one row (in the background, batched: see
``executions.noderuns.NodeRunBuffer``), so a crashed execution still shows which node was
running; events go to Redis from a background sender too, in order. Inputs and outputs above
:data:`MAX_RECORD_BYTES` are stored cut, ending in a ``_truncated`` marker item, and the row says so
(``output_truncated``); nothing is dropped silently.

Hooks must not raise (the engine would treat a bookkeeping failure as a node failure), so write
errors are logged and retried; a database that is really gone fails the run through the
checkpointer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reporunner.nodes.base import Item
from reporunner.platform.engine.execute import TRUNCATED_KEY, bound_ports
from reporunner.platform.executions.events import STREAM_TTL_SECONDS, publish_events
from reporunner.platform.executions.noderuns import NodeRunBuffer

__all__ = [
    "FINISHED_EVENT",
    "MAX_RECORD_BYTES",
    "USAGE_EVENT",
    "DatabaseHooks",
    "EventSink",
    "is_truncated",
]

MAX_RECORD_BYTES = 256_000
"""Bound of the JSON kept per node run for its input and for its output."""
FINISHED_EVENT = "execution.finished"
USAGE_EVENT = "usage"
TOOL_CALL_EVENT = "node.tool_call"
TOOL_RESULT_EVENT = "node.tool_result"
"""A node emits ``usage`` with ``tokens_in``, ``tokens_out`` and ``cost_usd`` (LLM calls);
the numbers are added to its node run and summed into the execution."""

log = logging.getLogger("reporunner.executions")


def is_truncated(ports: Mapping[str, list[Item]]) -> bool:
    """True when any port ends in the engine's truncation marker."""
    return any(items and TRUNCATED_KEY in items[-1] for items in ports.values())


@dataclass
class EventSink:
    """Publishes an execution's events (stream + channel); extra listeners see each one.

    :meth:`publish_soon` queues the event for a background sender that sends what queued up in
    one round trip, in order (observers, not the run, wait for it), ``delay`` seconds after the
    first queued event (0: at once); :meth:`publish` sends what is queued and its own event
    together, at once; :meth:`drain` sends the queue now and waits until it is sent.

    Attributes:
        redis: Where events go.
        execution_id: Whose events.
        listeners: Called with ``(event, data)`` when an event is published or queued (the CLI
            prints from here).
        ttl: How long the event stream stays after its last event (seconds).
        delay: How long queued events may wait for company (a short run's events then go out
            in one pipeline with its ``execution.finished``).
    """

    redis: Redis
    execution_id: str
    listeners: list[Any] = field(default_factory=list)
    ttl: int = STREAM_TTL_SECONDS
    delay: float = 0.0
    _queued: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list, init=False)
    _sender: asyncio.Task[None] | None = field(default=None, init=False)
    _now: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def publish(self, event: str, data: Mapping[str, Any]) -> None:
        sender = self._sender
        if sender is not None and not sender.done() and not self._now.is_set():
            sender.cancel()  # still waiting for company: what it holds goes out with this
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        await self.drain()  # a send under way ends first: the order stays
        batch = [*self._queued, (event, data)]
        self._queued.clear()
        try:
            await publish_events(self.redis, self.execution_id, batch, ttl=self.ttl)
        except Exception:  # events are best effort; node_runs rows are the record
            log.warning("could not publish %s of %s", event, self.execution_id, exc_info=True)
        for listener in self.listeners:
            listener(event, data)

    def publish_soon(self, event: str, data: Mapping[str, Any]) -> None:
        self._queued.append((event, data))
        for listener in self.listeners:
            listener(event, data)
        if self._sender is None or self._sender.done():
            self._now.clear()
            self._sender = asyncio.create_task(self._send())

    async def _send(self) -> None:
        if self.delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._now.wait(), self.delay)
        self._now.set()  # sending: no longer cancelled by ``publish``
        while self._queued:
            batch = list(self._queued)
            self._queued.clear()
            try:
                await publish_events(self.redis, self.execution_id, batch, ttl=self.ttl)
            except Exception:
                log.warning(
                    "could not publish %d events of %s", len(batch), self.execution_id,
                    exc_info=True,
                )  # fmt: skip

    async def drain(self) -> None:
        """Send every queued event now and wait until it has been sent (or given up on)."""
        self._now.set()
        while self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)


@dataclass
class _Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: Decimal = Decimal(0)


@dataclass
class DatabaseHooks:
    """Implements :class:`reporunner.platform.engine.ExecutionHooks` for one execution.

    Attributes:
        sessions: Session factory of the platform database.
        events: Where events are published.
        execution_id: The execution's id.
        workspace_id: Its workspace (every row is tenant-scoped).
        node_types: Node type by node id (stored on each row for listing and cost reports).
        max_record_bytes: Input/output size bound of a row.
    """

    sessions: async_sessionmaker[AsyncSession]
    events: EventSink
    execution_id: uuid.UUID
    workspace_id: uuid.UUID
    node_types: Mapping[str, str]
    max_record_bytes: int = MAX_RECORD_BYTES
    flush_delay: float = 0.0
    _buffer: NodeRunBuffer = field(init=False)
    _rows: dict[tuple[str, int], uuid.UUID] = field(default_factory=dict, init=False)
    _usage: dict[str, _Usage] = field(default_factory=dict, init=False)
    _finished: dict[str, Any] | None = field(default=None, init=False)
    _tool_calls: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)

    first_claim: bool = field(default=False, init=False)
    """Set by the runner: no earlier attempt of this execution left node runs behind."""

    def __post_init__(self) -> None:
        self._buffer = NodeRunBuffer(self.sessions, self.execution_id, self.flush_delay)

    def may_leave_running(self) -> bool:
        """Whether a node-run row of this execution may still say ``running`` (one of ours
        not ended, or one of an earlier, crashed attempt)."""
        return not self.first_claim or self._buffer.has_running()

    async def flush(self, session: AsyncSession | None = None) -> bool:
        """Write the pending node-run rows now (in ``session``'s transaction if given)."""
        return await self._buffer.flush(session)

    async def close(self) -> None:
        """Write what is pending and send the queued events (the run ended or was stopped)."""
        await self._buffer.close()
        await self.events.drain()

    async def node_started(
        self, node_id: str, *, run: int, inputs: Mapping[str, list[Item]]
    ) -> None:
        row_id = uuid.uuid4()
        self._rows[(node_id, run)] = row_id
        self._usage[node_id] = _Usage()
        self._buffer.put(
            row_id,
            {
                "workspace_id": self.workspace_id,
                "execution_id": self.execution_id,
                "node_id": node_id,
                "node_type": self.node_types.get(node_id, ""),
                "attempt": 1,
                "status": "running",
                "input": bound_ports(inputs, self.max_record_bytes),
                "started_at": datetime.now(UTC),
            },
        )

    def _finish_values(self, node_id: str, duration: float) -> dict[str, Any]:
        usage = self._usage.pop(node_id, _Usage())
        return {
            "finished_at": datetime.now(UTC),
            "duration_ms": round(duration * 1000, 3),
            "tokens_in": usage.tokens_in,
            "tokens_out": usage.tokens_out,
            "cost_usd": usage.cost_usd,
        }

    async def node_finished(
        self,
        node_id: str,
        *,
        run: int,
        outputs: Mapping[str, list[Item]],
        duration: float,
        attempt: int,
    ) -> None:
        row_id = self._rows.pop((node_id, run), None)
        if row_id is None:
            return
        output = bound_ports(outputs, self.max_record_bytes)
        self._buffer.put(
            row_id,
            {
                "status": "succeeded",
                "attempt": attempt,
                "output": output,
                "output_truncated": is_truncated(output),
                **self._finish_values(node_id, duration),
            },
        )

    async def node_failed(
        self,
        node_id: str,
        *,
        run: int,
        error: Mapping[str, Any],
        attempt: int,
        duration: float,
        final: bool,
    ) -> None:
        row_id = self._rows.get((node_id, run))
        if row_id is None:
            return
        values: dict[str, Any] = {"attempt": attempt, "error": dict(error)}
        if final:
            values.update(status="failed", **self._finish_values(node_id, duration))
        self._buffer.put(row_id, values)

    async def publish(self, event: str, data: Mapping[str, Any]) -> None:
        if event == USAGE_EVENT:
            self._add_usage(data)
        elif event == TOOL_CALL_EVENT:
            self._tool_calls[str(data.get("call_id"))] = {**data, "at": datetime.now(UTC)}
        elif event == TOOL_RESULT_EVENT:
            await self._record_tool_step(data)
        if event == FINISHED_EVENT:
            self._finished = dict(data)  # held until the row says so too (flush_finished)
            return
        self.events.publish_soon(event, data)

    async def flush_finished(self, status: str, error: Mapping[str, Any] | None) -> None:
        """Publish ``execution.finished`` once the execution row holds the outcome.

        Whoever sees the event and then reads the row finds the final status, never a row
        still saying ``running``.
        """
        data = self._finished or {"execution_id": str(self.execution_id), "status": status}
        if error is not None and "error" not in data:
            data["error"] = dict(error)
        self._finished = None
        await self._buffer.close()
        await self.events.publish(FINISHED_EVENT, data)  # with the events still queued

    async def _record_tool_step(self, data: Mapping[str, Any]) -> None:
        """An agent's tool call becomes a node run of its own (``<node>/tool:<name>``), so the
        execution's node runs show every step, not only the agent node around them."""
        call = self._tool_calls.pop(str(data.get("call_id")), {})
        finished = datetime.now(UTC)
        ok = bool(data.get("ok"))
        tool = str(data.get("tool", "?"))
        arguments = {"arguments": [call.get("arguments", {})]}
        output = {"main": [{"output": data.get("output")}]}
        self._buffer.put(
            uuid.uuid4(),
            {
                "workspace_id": self.workspace_id,
                "execution_id": self.execution_id,
                "node_id": f"{data.get('node_id', '')}/tool:{tool}",
                "node_type": f"tool:{tool}",
                "attempt": 1,
                "status": "succeeded" if ok else "failed",
                "input": bound_ports(arguments, self.max_record_bytes),
                "output": bound_ports(output, self.max_record_bytes) if ok else None,
                "error": None if ok else {"message": str(data.get("error") or "tool failed")},
                "started_at": call.get("at", finished),
                "finished_at": finished,
                "duration_ms": float(data.get("duration_ms") or 0.0),
            },
        )

    def _add_usage(self, data: Mapping[str, Any]) -> None:
        usage = self._usage.get(str(data.get("node_id", "")))
        if usage is None:
            return
        try:
            usage.tokens_in += int(data.get("tokens_in") or 0)
            usage.tokens_out += int(data.get("tokens_out") or 0)
            usage.cost_usd += Decimal(str(data.get("cost_usd") or 0))
        except (ValueError, ArithmeticError):
            log.warning("ignoring a malformed usage event of %s: %r", self.execution_id, data)
