"""The checkpointed graph state and the data-flow scheduler that reads it.

Why a scheduler of our own on top of LangGraph's supersteps: n8n users expect data flow. A node
runs once items arrived on its inputs and nothing more can arrive; a Merge after an If fires for
the branch that ran and never waits for the one that did not; a Merge after a fan-out waits for
every branch. A static "wait for all parents" join gets the first wrong and "fire on any" gets
the second wrong, so the decision is made from the state instead:

* ``inbox`` holds items delivered to each node and not yet consumed, one entry per delivery;
* a waiting node is *ready* when no other waiting node can still reach one of its inputs
  (the only way new items appear is a waiting node running), judged on the whole state.

The decision needs the state after *all* nodes of a superstep wrote. A node that ran alone in its
superstep has that view and dispatches its successors itself; when several ran together, they
all hand over to one scheduler step, which LangGraph runs once after all of them finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypedDict

from reporunner.nodes.base import Item
from reporunner.platform.engine.topology import Topology, forward_closure

__all__ = [
    "Delivery",
    "EngineState",
    "InboxUpdate",
    "apply_inbox",
    "merge_dicts",
    "ready_nodes",
]

Delivery = dict[str, Any]
"""``{"port": <input port>, "items": [...]}``: items one node sent to another in one run."""

InboxUpdate = dict[str, dict[str, Any]]
"""``{node_id: {"add": {delivery_id: Delivery}, "remove": [delivery_id, ...]}}``."""


def merge_dicts(current: dict[str, Any] | None, update: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: shallow merge, the update wins per key (each node writes only its own keys)."""
    if not update:
        return current or {}
    return {**(current or {}), **update}


def apply_inbox(
    current: dict[str, dict[str, Delivery]] | None, update: InboxUpdate | None
) -> dict[str, dict[str, Delivery]]:
    """Reducer of ``inbox``: add and remove deliveries by id.

    Removing by id (not "clear the node's inbox") keeps a delivery that a sibling made in the
    same superstep in which the node consumed its earlier ones.
    """
    result = dict(current or {})
    for node_id, change in (update or {}).items():
        box = dict(result.get(node_id, {}))
        for delivery_id in change.get("remove", ()):
            box.pop(delivery_id, None)
        box.update(change.get("add", {}))
        if box:
            result[node_id] = box
        else:
            result.pop(node_id, None)
    return result


class EngineState(TypedDict, total=False):
    """Graph state of one execution (JSON-safe; checkpointed after every superstep).

    Keys:
        inbox: Undelivered items per node, by delivery id.
        outputs: Last output of each node that ran, by port (bounded in size).
        node_state: Per-node state kept between runs (the Loop node's pending items).
        runs: How often each node ran (bounds loops; makes delivery ids unique).
        running: Nodes dispatched for the current superstep.
    """

    inbox: Annotated[dict[str, dict[str, Delivery]], apply_inbox]
    outputs: Annotated[dict[str, dict[str, list[Item]]], merge_dicts]
    node_state: Annotated[dict[str, dict[str, Any]], merge_dicts]
    runs: Annotated[dict[str, int], merge_dicts]
    running: list[str]


def ready_nodes(topology: Topology, inbox: Mapping[str, Mapping[str, Delivery]]) -> list[str]:
    """Waiting nodes that may run now, in definition order.

    A node with items waits while another waiting node can still reach it (a later delivery would
    then have to join this run). If every waiting node waits on another (a cycle of joins), all
    of them run rather than deadlock.
    """
    waiting = [n for n in topology.node_ids if inbox.get(n)]
    if len(waiting) <= 1:
        return waiting
    ready = []
    for node in waiting:
        others = [w for w in waiting if w != node]
        live = forward_closure(topology.successors, others, stop=node)
        feeders = topology.in_sources.get(node, {})
        if not any(src in live for sources in feeders.values() for src in sources):
            ready.append(node)
    return ready or waiting
