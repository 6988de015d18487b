"""Compile a validated definition into a LangGraph ``StateGraph`` (cached by content hash).

Every workflow node becomes one graph node; routing is data-driven (see
:mod:`reporunner.platform.engine.state`). A node's run returns a ``Command`` whose update
delivers its items to the inboxes of its targets and whose ``goto`` names every node that now
has items waiting. Each of those checks on entry, against the whole state of the superstep
before (so it sees what parallel siblings delivered), whether it is ready; one that is not yet
ready returns without running and is checked again after the next node finishes. No separate
scheduler step is needed, so a fan-in costs no more supersteps than a LangGraph join.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import ValidationError

from reporunner.nodes import expressions
from reporunner.nodes.base import Category, Item
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.engine.context import RunDeps
from reporunner.platform.engine.definition import WorkflowDefinition, content_hash
from reporunner.platform.engine.errors import ExecutionCancelled, LoopLimitExceeded
from reporunner.platform.engine.execute import CompiledNode, execute_node
from reporunner.platform.engine.state import (
    InboxChange,
    inbox_view,
    make_state_schema,
    out_key,
    ready_nodes,
)
from reporunner.platform.engine.topology import Topology, build_topology
from reporunner.platform.engine.validate import raise_for_problems, validate

__all__ = ["START_PORT", "CompiledWorkflow", "clear_cache", "compile_workflow"]

START_PORT = "__start__"
_CACHE_SIZE = 256
_caches: weakref.WeakKeyDictionary[NodeRegistry, OrderedDict[str, CompiledWorkflow]] = (
    weakref.WeakKeyDictionary()
)
"""Compiled workflows per registry (a registry's node classes are part of the result)."""
_cache_lock = threading.Lock()

EngineState = dict[str, Any]
"""Graph state values (keys from :func:`~reporunner.platform.engine.state.make_state_schema`)."""
Graph = CompiledStateGraph[Any, RunDeps, Any, Any]


@dataclass(frozen=True, slots=True)
class CompiledWorkflow:
    """A validated workflow ready to run; immutable and shared between executions.

    Attributes:
        definition: The definition it was compiled from.
        version_hash: :func:`content_hash` of the definition.
        graph: The LangGraph graph, compiled without a checkpointer (one is bound per run).
        nodes: Precomputed node data by node id.
        topology: Edges indexed both ways.
        triggers: Ids of the trigger nodes, in definition order.
    """

    definition: WorkflowDefinition
    version_hash: str
    graph: Graph
    nodes: Mapping[str, CompiledNode]
    topology: Topology
    triggers: tuple[str, ...]

    def credential_ids(self) -> set[str]:
        """Credential ids bound anywhere in the workflow (what a runner must decrypt)."""
        return {cid for cn in self.nodes.values() for cid in cn.spec.credentials.values()}


def clear_cache() -> None:
    """Forget every cached compiled workflow."""
    with _cache_lock:
        _caches.clear()


def compile_workflow(defn: WorkflowDefinition, registry: NodeRegistry) -> CompiledWorkflow:
    """Validate ``defn`` and compile it (cached by content hash and registry).

    Raises:
        ValidationFailed: the definition has problems; ``problems`` lists all of them.
    """
    version_hash = content_hash(defn)
    with _cache_lock:
        cache = _caches.setdefault(registry, OrderedDict())
        hit = cache.get(version_hash)
        if hit is not None:
            cache.move_to_end(version_hash)
            return hit
    raise_for_problems(validate(defn, registry))
    compiled = _build(defn, registry, version_hash)
    with _cache_lock:
        cache[version_hash] = compiled
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return compiled


def _compile_nodes(
    defn: WorkflowDefinition, registry: NodeRegistry, topology: Topology
) -> dict[str, CompiledNode]:
    result = {}
    for spec in defn.nodes:
        cls = registry.get(spec.type, spec.version)
        rendered = {k: v for k, v in spec.params.items() if k not in cls.literal_params}
        static = None
        if not expressions.has_expressions(rendered):
            try:
                static = cls.Params.model_validate(spec.params)
            except ValidationError:  # pragma: no cover - validate() already reported it
                static = None
        refs = expressions.referenced_nodes(rendered) if static is None else set()
        inputs = cls.input_ports(spec.params)
        result[spec.id] = CompiledNode(
            spec=spec,
            cls=cls,
            node=cls(),
            static_params=static,
            refs=frozenset(refs),
            out_edges=topology.out_edges.get(spec.id, {}),
            first_input=inputs[0].name if inputs else "main",
        )
    return result


def _build(defn: WorkflowDefinition, registry: NodeRegistry, version_hash: str) -> CompiledWorkflow:
    topology = build_topology(defn)
    nodes = _compile_nodes(defn, registry, topology)
    schema = make_state_schema(f"State_{version_hash[:12]}", nodes)
    builder: StateGraph[Any, RunDeps, Any, Any] = StateGraph(schema, context_schema=RunDeps)
    shared = make_state_schema("SharedInput", ())
    for cn in nodes.values():
        reads = make_state_schema(f"Input_{cn.id}", sorted(cn.refs)) if cn.refs else shared
        builder.add_node(cn.id, _node_fn(cn, topology, defn), input_schema=reads)
    # The first superstep goes straight to the trigger.
    builder.add_conditional_edges(START, _start_router(topology))
    triggers = tuple(nid for nid, cn in nodes.items() if cn.cls.category == Category.TRIGGER)
    return CompiledWorkflow(
        definition=defn,
        version_hash=version_hash,
        graph=builder.compile(name=defn.name),
        nodes=nodes,
        topology=topology,
        triggers=triggers,
    )


def _start_router(topology: Topology) -> Any:
    def start(state: EngineState) -> list[str]:
        return ready_nodes(topology, inbox_view(state))

    return start


def _gather(box: Mapping[str, Mapping[str, Any]], first_input: str) -> dict[str, list[Item]]:
    inputs: dict[str, list[Item]] = {}
    for delivery in box.values():
        port = first_input if delivery["port"] == START_PORT else delivery["port"]
        inputs.setdefault(port, []).extend(delivery["items"])
    return inputs


def _node_fn(cn: CompiledNode, topology: Topology, defn: WorkflowDefinition) -> Any:
    settings = defn.settings
    node_id = cn.id
    max_runs = settings.max_loop_iterations + cn.cls.extra_loop_runs

    async def run(state: EngineState, runtime: Runtime[RunDeps]) -> Command[str]:
        deps = runtime.context
        if deps.cancelled():
            raise ExecutionCancelled("the execution was cancelled")
        if node_id not in ready_nodes(topology, inbox_view(state)):
            return Command()  # more items may still arrive; re-checked after the next run
        box = (state.get("inbox") or {}).get(node_id, {})
        run_no = (state.get("runs") or {}).get(node_id, 0) + 1
        if run_no > max_runs:
            raise LoopLimitExceeded(
                f"node '{node_id}' would run {run_no} times, more than "
                f"settings.max_loop_iterations={settings.max_loop_iterations} allows; raise the "
                "limit or make the loop end sooner"
            )
        before = (state.get("node_state") or {}).get(node_id, {})
        node_state = copy.deepcopy(before)
        ports = await execute_node(
            cn, deps, state, _gather(box, cn.first_input), node_state, settings.vars, run_no
        )
        inbox: dict[str, InboxChange] = {node_id: {"remove": list(box)}}
        for port, items in ports.items():
            if not items:
                continue
            for edge in cn.out_edges.get(port, ()):
                delivery_id = f"{node_id}#{run_no}:{port}>{edge.target_port}"
                change = inbox.setdefault(edge.target, {})
                change.setdefault("add", {})[delivery_id] = {
                    "port": edge.target_port,
                    "items": items,
                }
        update: dict[str, Any] = {
            "inbox": inbox,
            out_key(node_id): ports,
            "runs": {node_id: run_no},
        }
        if node_state != before:
            update["node_state"] = {node_id: node_state}
        waiting = inbox_view(state, inbox)
        return Command(update=update, goto=[n for n in topology.node_ids if n in waiting])

    run.__name__ = f"node_{node_id}"
    return run
