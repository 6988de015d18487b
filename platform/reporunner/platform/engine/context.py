"""What a running node sees: :class:`EngineContext` implements ``reporunner.nodes.NodeContext``.

Per-execution dependencies (hooks, services, credentials, the HTTP client, the cancel flag) are
not part of the checkpointed state; they travel as LangGraph's run-scoped context
(:class:`RunDeps`), so a resumed execution gets fresh ones from the worker that resumes it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from langgraph.types import interrupt
from pydantic import BaseModel

from reporunner.nodes.base import Item
from reporunner.nodes.credentials import secret_values
from reporunner.nodes.errors import CredentialError, NodeError
from reporunner.nodes.logging import RedactingLoggerAdapter
from reporunner.nodes.ssrf import guarded_client
from reporunner.platform.engine.hooks import ExecutionHooks

__all__ = ["EngineContext", "NodeCallScope", "RunDeps", "current_call"]

_log = logging.getLogger("reporunner.engine")


@dataclass
class NodeCallScope:
    """Which node call is running, for services that need stable ids per call.

    Attributes:
        execution_id: Execution the call belongs to.
        node_id: Node being called.
        run: Run number of the node in the execution (from 1).
        index: Item index for ``mode="each"`` nodes (0 otherwise).
        uses: Times a service has used this scope so far (bumped by the service).
    """

    execution_id: str
    node_id: str
    run: int
    index: int
    uses: int = 0

    def next_id(self, prefix: str) -> str:
        """A child id that is the same when this call is replayed (resume, retry)."""
        self.uses += 1
        return f"{self.execution_id}.{prefix}.{self.node_id}.r{self.run}.i{self.index}.{self.uses}"


_current_call: contextvars.ContextVar[NodeCallScope | None] = contextvars.ContextVar(
    "reporunner_engine_call", default=None
)


def current_call() -> NodeCallScope | None:
    """The node call running in this task, if any (set by the engine around every attempt)."""
    return _current_call.get()


def enter_call(scope: NodeCallScope) -> contextvars.Token[NodeCallScope | None]:
    """Mark ``scope`` as the running call (engine internal)."""
    return _current_call.set(scope)


def leave_call(token: contextvars.Token[NodeCallScope | None]) -> None:
    """Undo :func:`enter_call`."""
    _current_call.reset(token)


@dataclass
class RunDeps:
    """Run-scoped dependencies of one execution (never checkpointed).

    Attributes:
        execution_id: Id of the execution (also the LangGraph thread id).
        workspace_id: Workspace that owns it.
        trigger: Item that started it.
        hooks: Where node runs and events are reported.
        services: Engine services by name (``subworkflow``, ``webhook_response``...).
        credentials: Decrypted credentials by credential id.
        cancel_event: Set to ask the execution to stop.
        max_output_bytes: Largest output (JSON bytes) a node may hand on; more fails it.
        http_client: Shared outbound client; an SSRF-guarded one is made on first use if None.
        pinned: Outputs by node id and port that replace running those nodes (test cases).
    """

    execution_id: str
    workspace_id: str
    trigger: Item
    hooks: ExecutionHooks
    services: Mapping[str, Any]
    credentials: Mapping[str, BaseModel]
    cancel_event: asyncio.Event | None = None
    max_output_bytes: int = 16 * 1024 * 1024
    http_client: httpx.AsyncClient | None = None
    pinned: Mapping[str, Mapping[str, list[Item]]] = field(default_factory=dict)
    owns_http_client: bool = field(default=False, repr=False)

    def http(self) -> httpx.AsyncClient:
        """The outbound HTTP client, made SSRF-guarded on first use."""
        if self.http_client is None:
            self.http_client = guarded_client()
            self.owns_http_client = True
        return self.http_client

    def cancelled(self) -> bool:
        """True once cancellation was requested."""
        return self.cancel_event is not None and self.cancel_event.is_set()


@dataclass
class EngineContext:
    """The engine's :class:`~reporunner.nodes.NodeContext` for one node run."""

    deps: RunDeps
    node_id: str
    vars: Mapping[str, Any]
    bound_credentials: Mapping[str, str]
    node_state: dict[str, Any]
    item_offset: int = 0
    """Index of the current item for ``mode="each"`` calls (``idempotency_key(0)`` is that item)."""
    secrets: tuple[str, ...] = field(init=False)
    """Secret values of the credentials bound to this node (masked in logs and errors)."""
    logger: logging.LoggerAdapter[logging.Logger] = field(init=False)

    def __post_init__(self) -> None:
        found: list[str] = []
        for credential_id in self.bound_credentials.values():
            model = self.deps.credentials.get(credential_id)
            if model is not None:
                found.extend(secret_values(model))
        self.secrets = tuple(found)
        self.logger = RedactingLoggerAdapter(
            _log,
            self.secrets,
            {"execution_id": self.deps.execution_id, "node_id": self.node_id},
        )

    @property
    def execution_id(self) -> str:
        return self.deps.execution_id

    @property
    def workspace_id(self) -> str:
        return self.deps.workspace_id

    @property
    def trigger(self) -> Item:
        return self.deps.trigger

    @property
    def http(self) -> httpx.AsyncClient:
        return self.deps.http()

    def credential(self, name: str) -> BaseModel:
        credential_id = self.bound_credentials.get(name)
        if credential_id is None:
            raise CredentialError(
                f"node '{self.node_id}' has no '{name}' credential bound; add "
                f'"{name}": "<credential id>" to the node\'s \'credentials\''
            )
        try:
            return self.deps.credentials[credential_id]
        except KeyError:
            raise CredentialError(
                f"node '{self.node_id}': credential '{credential_id}' ({name}) was not found "
                "in this workspace; create it or bind another one"
            ) from None

    def idempotency_key(self, item_index: int = 0) -> str:
        index = self.item_offset + item_index
        return f"{self.deps.execution_id}:{self.node_id}:{index}"

    def is_cancelled(self) -> bool:
        return self.deps.cancelled()

    async def emit(self, event: str, data: Mapping[str, Any]) -> None:
        await self.deps.hooks.publish(event, {"node_id": self.node_id, **data})

    def interrupt(self, payload: Mapping[str, Any]) -> Any:
        return interrupt({"node_id": self.node_id, **payload})

    def state(self) -> MutableMapping[str, Any]:
        return self.node_state

    def service(self, name: str) -> Any:
        try:
            return self.deps.services[name]
        except KeyError:
            offered = ", ".join(sorted(self.deps.services)) or "none"
            raise NodeError(
                f"node '{self.node_id}' asked for the engine service '{name}', which this "
                f"execution does not offer (offered: {offered})"
            ) from None
