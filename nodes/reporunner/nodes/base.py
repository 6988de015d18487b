"""The node contract: what every node (built-in or from a plugin package) implements.

Data flows between nodes as lists of *items* (JSON objects), port by port, as in n8n. A node
declares its input and output ports; ``run`` receives the items that arrived on each input port
and returns the items it sends out of each output port. Routing nodes (If, Switch) send items out
of several ports; a port that receives no items does not trigger its downstream nodes.

The engine (in ``reporunner.platform``) renders ``{{ ... }}`` expressions in the raw params,
validates them with the node's ``Params`` model and then calls ``run``. Nodes whose ``mode`` is
``"each"`` are called once per input item with params rendered against that item (``{{ item }}``)
and their outputs concatenated; ``"all"`` nodes are called once with every item (``{{ item }}`` is
then the first item).
"""

from __future__ import annotations

import builtins
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict

__all__ = [
    "Category",
    "Item",
    "NoParams",
    "Node",
    "NodeContext",
    "NodeInputs",
    "NodeOutput",
    "Port",
]

Item = dict[str, Any]
"""One unit of data flowing between nodes: a JSON object."""

NodeInputs = Mapping[str, list[Item]]
"""Items received on each input port, by port name."""


class Category(StrEnum):
    """Where a node sits in the catalog."""

    TRIGGER = "trigger"
    ACTION = "action"
    TRANSFORM = "transform"
    LOGIC = "logic"
    AI = "ai"
    KNOWLEDGE = "knowledge"


@dataclass(frozen=True, slots=True)
class Port:
    """A named input or output of a node."""

    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class NodeOutput:
    """Items a node sends, by output port name. Ports absent from ``ports`` send nothing."""

    ports: dict[str, list[Item]] = field(default_factory=dict)

    @classmethod
    def main(cls, items: list[Item]) -> NodeOutput:
        """Send ``items`` out of the ``main`` port."""
        return cls({"main": items})

    @classmethod
    def to(cls, port: str, items: list[Item]) -> NodeOutput:
        """Send ``items`` out of ``port``."""
        return cls({port: items})


class NoParams(BaseModel):
    """Params model of nodes that take no parameters."""

    model_config = ConfigDict(extra="forbid")


@runtime_checkable
class NodeContext(Protocol):
    """What the engine gives a running node.

    Implementations live in the engine (and in test helpers); nodes depend only on this protocol.
    """

    @property
    def execution_id(self) -> str:
        """Id of the execution this node run belongs to."""
        ...

    @property
    def node_id(self) -> str:
        """Id of the node in the workflow definition."""
        ...

    @property
    def workspace_id(self) -> str:
        """Workspace that owns the execution."""
        ...

    @property
    def logger(self) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
        """Logger whose records carry execution and node ids (never secrets)."""
        ...

    @property
    def http(self) -> httpx.AsyncClient:
        """HTTP client with the SSRF guard applied (use it for every outbound URL)."""
        ...

    @property
    def vars(self) -> Mapping[str, Any]:
        """Workflow variables (``settings.vars`` of the definition)."""
        ...

    @property
    def trigger(self) -> Item:
        """The item that started the execution (webhook body, schedule tick, chat message...)."""
        ...

    def credential(self, name: str) -> BaseModel:
        """Decrypted credential bound to this node under ``name`` (a credential type name).

        Raises:
            CredentialError: the node has no credential of that name.
        """
        ...

    def idempotency_key(self, item_index: int = 0) -> str:
        """Stable key (execution id + node id + item index) for side effects that must not
        repeat when a crashed execution is resumed."""
        ...

    def is_cancelled(self) -> bool:
        """True once the execution has been asked to stop; long-running nodes check it."""
        ...

    async def emit(self, event: str, data: Mapping[str, Any]) -> None:
        """Publish a progress event (``log``, ``progress``, ...) on the execution's channel."""
        ...

    def interrupt(self, payload: Mapping[str, Any]) -> Any:
        """Park the execution until a human resumes it; returns the resume payload."""
        ...

    def state(self) -> MutableMapping[str, Any]:
        """Per-node state that survives between runs of this node within one execution.

        The engine stores it in the checkpointed graph state (JSON-safe values only); the Loop
        node keeps its pending items and collected results here.
        """
        ...

    def service(self, name: str) -> Any:
        """An engine-provided service by name (``subworkflow``, ``redis``, ``knowledge``...).

        Raises:
            NodeError: the engine offers no such service here.
        """
        ...


P = TypeVar("P", bound=BaseModel)


class Node(ABC, Generic[P]):
    """Base class of every node.

    Subclasses set the class attributes and implement :meth:`run`. Register them with the
    registry (built-ins are found automatically; plugins through the ``reporunner.nodes``
    entry-point group).
    """

    type: ClassVar[str]
    """Dotted type name, e.g. ``http.request``."""
    version: ClassVar[int] = 1
    """Bumped on a breaking change of params or behaviour; old versions stay registered."""
    category: ClassVar[Category]
    display_name: ClassVar[str]
    description: ClassVar[str]
    """Precise one-paragraph description: what it does, what it outputs (the copilot reads it)."""
    Params: ClassVar[builtins.type[BaseModel]] = NoParams
    inputs: ClassVar[tuple[Port, ...]] = (Port("main"),)
    outputs: ClassVar[tuple[Port, ...]] = (Port("main"),)
    credential_types: ClassVar[tuple[str, ...]] = ()
    """Credential type names this node accepts (see ``reporunner.nodes.credentials``)."""
    mode: ClassVar[Literal["each", "all"]] = "all"
    extra_loop_runs: ClassVar[int] = 0
    """Runs of this node in one loop beyond one per iteration: a loop controller runs once more
    (to start the loop, or to hand on its results); the engine adds it to
    ``settings.max_loop_iterations``."""
    literal_params: ClassVar[frozenset[str]] = frozenset()
    """Top-level params never rendered as expressions; a ``{{`` in them is a validation error
    (e.g. SQL text, which must take values through bound parameters only)."""
    example: ClassVar[Mapping[str, Any]] = {}
    """Example params, shown in the catalog."""

    @classmethod
    def input_ports(cls, params: Mapping[str, Any]) -> tuple[Port, ...]:
        """Input ports for these (raw) params; override when the count depends on params."""
        return cls.inputs

    @classmethod
    def output_ports(cls, params: Mapping[str, Any]) -> tuple[Port, ...]:
        """Output ports for these (raw) params; override when they depend on params."""
        return cls.outputs

    @abstractmethod
    async def run(self, ctx: NodeContext, params: P, inputs: NodeInputs) -> NodeOutput:
        """Do the node's work.

        Args:
            ctx: Engine services for this run.
            params: Rendered and validated params.
            inputs: Items received, by input port name.

        Returns:
            Items sent, by output port name.
        """
