"""The static shape of a workflow: who feeds whom, through which ports.

Shared by validation (reachability, cycles) and by the scheduler (which nodes can still deliver
items to a waiting node). Pure data, built once per compiled workflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reporunner.platform.engine.definition import EdgeSpec, WorkflowDefinition

__all__ = ["Topology", "build_topology", "forward_closure", "strongly_connected"]


@dataclass(frozen=True, slots=True)
class Topology:
    """Edges of a workflow indexed both ways.

    Attributes:
        node_ids: Node ids in definition order.
        out_edges: Edges leaving each node, by source port.
        in_sources: Nodes feeding each input port of each node.
        successors: Nodes directly downstream of each node (any port).
    """

    node_ids: tuple[str, ...]
    out_edges: Mapping[str, Mapping[str, tuple[EdgeSpec, ...]]]
    in_sources: Mapping[str, Mapping[str, frozenset[str]]]
    successors: Mapping[str, frozenset[str]]


def build_topology(defn: WorkflowDefinition) -> Topology:
    """Index the edges of ``defn`` (edges naming unknown nodes are ignored here)."""
    ids = tuple(n.id for n in defn.nodes)
    known = set(ids)
    out: dict[str, dict[str, list[EdgeSpec]]] = {i: {} for i in ids}
    ins: dict[str, dict[str, set[str]]] = {i: {} for i in ids}
    succ: dict[str, set[str]] = {i: set() for i in ids}
    for e in defn.edges:
        if e.source not in known or e.target not in known:
            continue
        out[e.source].setdefault(e.source_port, []).append(e)
        ins[e.target].setdefault(e.target_port, set()).add(e.source)
        succ[e.source].add(e.target)
    return Topology(
        node_ids=ids,
        out_edges={n: {p: tuple(es) for p, es in ports.items()} for n, ports in out.items()},
        in_sources={n: {p: frozenset(s) for p, s in ports.items()} for n, ports in ins.items()},
        successors={n: frozenset(s) for n, s in succ.items()},
    )


def forward_closure(
    successors: Mapping[str, Iterable[str]], seeds: Iterable[str], stop: str | None = None
) -> set[str]:
    """Every node reachable from ``seeds`` (seeds included), never expanding past ``stop``."""
    seen: set[str] = set()
    stack = list(seeds)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node != stop:
            stack.extend(s for s in successors.get(node, ()) if s not in seen)
    return seen


def strongly_connected(successors: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components that form cycles (size > 1, or a node looping on itself).

    Iterative Tarjan, so a long chain cannot hit the recursion limit.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in successors:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, list(successors.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, list(successors.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1 or node in successors.get(node, ()):
                    cycles.append(sorted(comp))
    return cycles
