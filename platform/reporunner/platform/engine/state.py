"""The checkpointed graph state and the data-flow scheduler that reads it.

Why a scheduler of our own on top of LangGraph's supersteps: n8n users expect data flow. A node
runs once items arrived on its inputs and nothing more can arrive; a Merge after an If fires for
the branch that ran and never waits for the one that did not; a Merge after a fan-out waits for
every branch. A static "wait for all parents" join gets the first wrong and "fire on any" gets
the second wrong, so the decision is made from the state instead:

* the inbox of each node holds items delivered to it and not yet consumed, one entry per delivery;
* a waiting node is *ready* when no other waiting node can still reach one of its inputs
  (the only way new items appear is a waiting node running), judged on the whole state.

The decision needs the state after *all* nodes of a superstep wrote, which a node only has at the
start of the next superstep. So a node that finishes sends every node with waiting items into
the next superstep, and each of those decides there, from the whole state, whether it is ready
(every one of them computes the same ready set, so the choice is consistent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypedDict

from reporunner.nodes.base import Item
from reporunner.platform.engine.topology import Topology, forward_closure

__all__ = [
    "Delivery",
    "InboxChange",
    "apply_box",
    "apply_inbox",
    "inbox_view",
    "make_state_schema",
    "merge_dicts",
    "out_key",
    "ready_nodes",
]

Delivery = dict[str, Any]
"""``{"port": <input port>, "items": [...]}``: items one node sent to another in one run."""

InboxChange = dict[str, Any]
"""``{"add": {delivery_id: Delivery}, "remove": [delivery_id, ...]}`` for one node's inbox."""


def out_key(node_id: str) -> str:
    """State key of a node's last output (``{port: items}``)."""
    return f"out__{node_id}"


def merge_dicts(current: dict[str, Any] | None, update: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: shallow merge, the update wins per key (each node writes only its own keys)."""
    if not update:
        return current or {}
    return {**(current or {}), **update}


def apply_box(
    current: dict[str, Delivery] | None, change: InboxChange | None
) -> dict[str, Delivery]:
    """Reducer of one node's inbox: remove and add deliveries by id.

    Removing by id (not "clear the inbox") keeps a delivery that a sibling made in the same
    superstep in which the node consumed its earlier ones.
    """
    box = dict(current or {})
    for delivery_id in (change or {}).get("remove", ()):
        box.pop(delivery_id, None)
    box.update((change or {}).get("add", {}))
    return box


def apply_inbox(
    current: dict[str, dict[str, Delivery]] | None, update: dict[str, InboxChange] | None
) -> dict[str, dict[str, Delivery]]:
    """Reducer of ``inbox`` (every node's inbox by node id); empty inboxes are dropped."""
    result = dict(current or {})
    for node_id, change in (update or {}).items():
        box = apply_box(result.get(node_id), change)
        if box:
            result[node_id] = box
        else:
            result.pop(node_id, None)
    return result


_SHARED_FIELDS: dict[str, Any] = {
    "inbox": Annotated[dict[str, dict[str, Delivery]], apply_inbox],
    "node_state": Annotated[dict[str, dict[str, Any]], merge_dicts],
    "runs": Annotated[dict[str, int], merge_dicts],
}


def make_state_schema(name: str, node_ids: Iterable[str]) -> type[Any]:
    """A state schema: the shared keys plus one output channel per node of ``node_ids``.

    With every node of the workflow it is the graph state; per-node output channels keep
    checkpoints small: a superstep rewrites the outputs it produced, never every node's output
    so far. With the nodes one node's expressions reference it is that node's input schema:
    LangGraph builds each task's input from the channels of its input schema, so a node that
    reads only what it needs costs the same however many nodes the workflow has. (Reading
    channels costs LangGraph CPU per channel and superstep, so the rest is shared.)

    Shared keys:
        inbox: Undelivered items per node, by delivery id (only items in flight).
        node_state: Per-node state kept between runs (the Loop node's pending items).
        runs: How often each node ran (bounds loops; makes delivery ids unique).
    """
    fields = dict(_SHARED_FIELDS)
    for node_id in node_ids:
        fields[out_key(node_id)] = dict[str, list[Item]]
    schema: type[Any] = TypedDict(name, fields, total=False)  # type: ignore[misc]
    return schema


def inbox_view(
    state: Mapping[str, Any], changes: dict[str, InboxChange] | None = None
) -> dict[str, dict[str, Delivery]]:
    """Every non-empty inbox by node id, with ``changes`` (not yet written) applied."""
    inbox: dict[str, dict[str, Delivery]] = state.get("inbox") or {}
    return apply_inbox(inbox, changes) if changes else inbox


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
