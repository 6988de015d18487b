"""Helpers for testing nodes without the engine (used by our tests and by plugin authors).

``NodeTestContext`` implements :class:`~reporunner.nodes.base.NodeContext` in memory: it records
emitted events, answers ``interrupt`` from a preset resume value, and hands out credentials and
services given to it. ``run_node`` validates raw params with the node's ``Params`` model and runs
the node the way the engine does for its ``mode`` (once per item for ``"each"`` nodes).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel

from reporunner.nodes.base import Item, Node, NodeOutput
from reporunner.nodes.errors import CredentialError, NodeError

__all__ = ["NodeTestContext", "run_node"]


@dataclass
class NodeTestContext:
    """In-memory :class:`NodeContext` for tests."""

    execution_id: str = "exec-test"
    node_id: str = "node-test"
    workspace_id: str = "ws-test"
    vars: Mapping[str, Any] = field(default_factory=dict)
    trigger: Item = field(default_factory=dict)
    credentials: Mapping[str, BaseModel] = field(default_factory=dict)
    services: Mapping[str, Any] = field(default_factory=dict)
    resume_value: Any = None
    cancelled: bool = False
    http_client: httpx.AsyncClient | None = None
    node_state: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("reporunner.node"))

    @property
    def http(self) -> httpx.AsyncClient:
        if self.http_client is None:
            self.http_client = httpx.AsyncClient()
        return self.http_client

    def credential(self, name: str) -> BaseModel:
        try:
            return self.credentials[name]
        except KeyError:
            raise CredentialError(
                f"node '{self.node_id}' needs a credential of type '{name}'; bind one in the "
                "node's 'credentials'"
            ) from None

    def idempotency_key(self, item_index: int = 0) -> str:
        return f"{self.execution_id}:{self.node_id}:{item_index}"

    def is_cancelled(self) -> bool:
        return self.cancelled

    async def emit(self, event: str, data: Mapping[str, Any]) -> None:
        self.events.append((event, dict(data)))

    def interrupt(self, payload: Mapping[str, Any]) -> Any:
        self.interrupts.append(dict(payload))
        return self.resume_value

    def state(self) -> MutableMapping[str, Any]:
        return self.node_state

    def service(self, name: str) -> Any:
        try:
            return self.services[name]
        except KeyError:
            raise NodeError(f"the engine offers no service '{name}' here") from None


async def run_node(
    node_cls: type[Node[Any]],
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, list[Item]] | None = None,
    ctx: NodeTestContext | None = None,
) -> NodeOutput:
    """Validate ``params`` and run ``node_cls`` as the engine would (no expression rendering).

    ``"each"`` nodes run once per item of their first input port and their outputs are
    concatenated port by port; a node with no input items runs once with an empty input.
    """
    ctx = ctx or NodeTestContext()
    node = node_cls()
    model = node_cls.Params.model_validate(dict(params or {}))
    given = {k: list(v) for k, v in (inputs or {}).items()}
    first_port = node_cls.inputs[0].name if node_cls.inputs else "main"
    items = given.get(first_port, [])
    if node_cls.mode == "all" or not items:
        return await node.run(ctx, model, given)
    merged: dict[str, list[Item]] = {}
    for item in items:
        out = await node.run(ctx, model, {**given, first_port: [item]})
        for port, port_items in out.ports.items():
            merged.setdefault(port, []).extend(port_items)
    return NodeOutput(merged)
