"""The seam between the engine and whoever records an execution (node_runs rows, events).

The engine calls these hooks and never touches a database or Redis itself; the service layer
implements them. :class:`RecordingHooks` keeps everything in memory (tests, the CLI).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reporunner.nodes.base import Item

__all__ = ["EVENTS", "ExecutionHooks", "NullHooks", "RecordingHooks"]

EVENTS = (
    "execution.started",
    "node.started",
    "node.finished",
    "node.failed",
    "log",
    "execution.finished",
)
"""Event names the engine publishes (nodes may ``emit`` further ones, e.g. ``progress``)."""


class ExecutionHooks(Protocol):
    """Called by the engine as an execution runs; implementations must not raise."""

    async def node_started(
        self, node_id: str, *, run: int, inputs: Mapping[str, list[Item]]
    ) -> None:
        """A node run begins (``run`` counts runs of this node in the execution, from 1).

        ``inputs`` are size-bounded like outputs. A node parked by an interrupt starts again
        (same ``run``) when the execution is resumed.
        """
        ...

    async def node_finished(
        self,
        node_id: str,
        *,
        run: int,
        outputs: Mapping[str, list[Item]],
        duration: float,
        attempt: int,
    ) -> None:
        """A node run succeeded (or failed with a continue policy); outputs are size-bounded."""
        ...

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
        """An attempt failed; ``final`` is False when a retry follows."""
        ...

    async def publish(self, event: str, data: Mapping[str, Any]) -> None:
        """Publish an event of the execution (see :data:`EVENTS`)."""
        ...


class NullHooks:
    """Hooks that record nothing."""

    async def node_started(
        self, node_id: str, *, run: int, inputs: Mapping[str, list[Item]]
    ) -> None:
        return None

    async def node_finished(
        self,
        node_id: str,
        *,
        run: int,
        outputs: Mapping[str, list[Item]],
        duration: float,
        attempt: int,
    ) -> None:
        return None

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
        return None

    async def publish(self, event: str, data: Mapping[str, Any]) -> None:
        return None


@dataclass
class RecordingHooks:
    """Hooks that keep every call in memory, in order."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def node_started(
        self, node_id: str, *, run: int, inputs: Mapping[str, list[Item]]
    ) -> None:
        self.calls.append(("started", node_id, {"run": run, "inputs": dict(inputs)}))

    async def node_finished(
        self,
        node_id: str,
        *,
        run: int,
        outputs: Mapping[str, list[Item]],
        duration: float,
        attempt: int,
    ) -> None:
        self.calls.append(
            ("finished", node_id, {"run": run, "outputs": dict(outputs), "attempt": attempt})
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
        self.calls.append(
            (
                "failed",
                node_id,
                {"run": run, "error": dict(error), "attempt": attempt, "final": final},
            )
        )

    async def publish(self, event: str, data: Mapping[str, Any]) -> None:
        self.events.append((event, dict(data)))

    def finished(self, node_id: str) -> list[dict[str, Any]]:
        """Details of each successful run of ``node_id``."""
        return [d for kind, n, d in self.calls if kind == "finished" and n == node_id]

    def ran(self) -> list[str]:
        """Node ids in the order their runs finished."""
        return [n for kind, n, _ in self.calls if kind == "finished"]
